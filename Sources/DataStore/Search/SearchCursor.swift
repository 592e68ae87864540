/// A position in the search order: the `lastUpdated` and id of a resource. The next page
/// starts strictly after it.
public struct SearchCursor: Hashable, Sendable {
    /// `meta.lastUpdated` in milliseconds since 1970.
    public var lastUpdated: Int64
    /// The resource id.
    public var resourceID: String

    /// Creates a cursor.
    public init(lastUpdated: Int64, resourceID: String) {
        self.lastUpdated = lastUpdated
        self.resourceID = resourceID
    }
}

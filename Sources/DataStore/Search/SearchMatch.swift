/// One resource a search found: its current version, decrypted.
public struct SearchMatch: Sendable {
    /// The resource type.
    public var resourceType: FHIRResourceType
    /// The id.
    public var id: String
    /// The current version.
    public var versionID: Int
    /// `meta.lastUpdated`, milliseconds since 1970.
    public var lastUpdated: Int64
    /// The resource JSON, as stored (with server-managed `id` and `meta`).
    public var json: [UInt8]

    /// Creates a match.
    public init(resourceType: FHIRResourceType, id: String, versionID: Int, lastUpdated: Int64, json: [UInt8]) {
        self.resourceType = resourceType
        self.id = id
        self.versionID = versionID
        self.lastUpdated = lastUpdated
        self.json = json
    }
}

/// A tag on a key: a key–value pair for the owner's bookkeeping.
public struct KeyTag: Hashable, Sendable {
    /// The tag key, 1–128 characters, not starting with `aws:`.
    public var key: String
    /// The tag value, 0–256 characters.
    public var value: String

    /// Creates a tag.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

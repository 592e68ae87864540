/// Limits the key store enforces.
public struct KeyStoreLimits: Hashable, Sendable {
    /// The longest key description. Default 8,192 characters, as AWS KMS.
    public var maximumDescriptionCharacters: Int

    /// How many parsed policies, and how many unwrapped material versions, are kept in memory
    /// between calls. Default 4,096 each; 0 turns the cache off.
    public var maximumCachedKeyVersions: Int

    /// Creates limits; every argument has the documented default.
    public init(maximumDescriptionCharacters: Int = 8192, maximumCachedKeyVersions: Int = 4096) {
        self.maximumDescriptionCharacters = maximumDescriptionCharacters
        self.maximumCachedKeyVersions = maximumCachedKeyVersions
    }
}

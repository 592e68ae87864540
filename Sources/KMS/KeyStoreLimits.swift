/// Limits the key store enforces.
public struct KeyStoreLimits: Hashable, Sendable {
    /// The longest key description. Default 8,192 characters, as AWS KMS.
    public var maximumDescriptionCharacters: Int

    /// How many parsed policies, and how many unwrapped material versions, are kept in memory
    /// between calls. Default 4,096 each; 0 turns the cache off.
    public var maximumCachedKeyVersions: Int

    /// How many keys, policies, material versions, aliases and grants the in-memory key
    /// directory holds for the cryptographic fast path (a grant list counts each grant). Default
    /// 100,000; past it the directory starts over; 0 turns it off (every call reads the database).
    public var maximumDirectoryEntries: Int

    /// Creates limits; every argument has the documented default.
    public init(maximumDescriptionCharacters: Int = 8192, maximumCachedKeyVersions: Int = 4096, maximumDirectoryEntries: Int = 100_000) {
        self.maximumDescriptionCharacters = maximumDescriptionCharacters
        self.maximumCachedKeyVersions = maximumCachedKeyVersions
        self.maximumDirectoryEntries = maximumDirectoryEntries
    }
}

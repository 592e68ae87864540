/// Limits the key store enforces.
public struct KeyStoreLimits: Hashable, Sendable {
    /// The longest key description. Default 8,192 characters, as AWS KMS.
    public var maximumDescriptionCharacters: Int

    /// Creates limits; every argument has the documented default.
    public init(maximumDescriptionCharacters: Int = 8192) {
        self.maximumDescriptionCharacters = maximumDescriptionCharacters
    }
}

/// Limits applied when parsing a key policy document.
public struct KeyPolicyLimits: Hashable, Sendable {
    /// The largest accepted document, in UTF-8 bytes. Default 32,768 (32 KiB), as AWS KMS.
    public var maximumDocumentBytes: Int

    /// The deepest accepted JSON nesting. Default 16: a valid policy needs at most 5
    /// (document, Statement array, statement, Condition, operator block, value array).
    public var maximumNestingDepth: Int

    /// Creates limits; every argument has the documented default.
    public init(maximumDocumentBytes: Int = 32 * 1024, maximumNestingDepth: Int = 16) {
        self.maximumDocumentBytes = maximumDocumentBytes
        self.maximumNestingDepth = maximumNestingDepth
    }
}

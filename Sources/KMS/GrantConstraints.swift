/// The encryption context conditions of a grant: it allows an operation only when the request's
/// encryption context satisfies them.
public struct GrantConstraints: Hashable, Sendable {
    /// Every pair here must appear in the request's context, which may have more.
    public var encryptionContextSubset: [String: String]?
    /// The request's context must be exactly this.
    public var encryptionContextEquals: [String: String]?

    /// Creates constraints; at most one of the two may be given.
    public init(encryptionContextSubset: [String: String]? = nil, encryptionContextEquals: [String: String]? = nil) {
        self.encryptionContextSubset = encryptionContextSubset
        self.encryptionContextEquals = encryptionContextEquals
    }

    /// Whether there is any constraint.
    public var isEmpty: Bool {
        self.encryptionContextSubset == nil && self.encryptionContextEquals == nil
    }

    /// Whether a request's encryption context satisfies the constraints (exact, case-sensitive).
    public func isSatisfied(by context: EncryptionContext) -> Bool {
        if let equals = self.encryptionContextEquals, context.pairs != equals { return false }
        if let subset = self.encryptionContextSubset {
            for (key, value) in subset where context.pairs[key] != value { return false }
        }
        return true
    }

    /// Checks the constraints against the limits.
    ///
    /// - Throws: ``KMSError`` `ValidationException` if both kinds are given, or either breaks
    ///   the encryption context limits.
    func validate(limits: CiphertextLimits) throws {
        if self.encryptionContextSubset != nil && self.encryptionContextEquals != nil {
            throw KMSError.validation("a grant may have EncryptionContextSubset or EncryptionContextEquals, not both")
        }
        try EncryptionContext(self.encryptionContextSubset ?? [:]).validate(limits: limits)
        try EncryptionContext(self.encryptionContextEquals ?? [:]).validate(limits: limits)
    }
}

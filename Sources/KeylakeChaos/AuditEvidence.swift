/// The key-service audit trail of the customer-managed key after the run, and whether the
/// whole chain verifies.
public struct AuditEvidence: Codable, Sendable, Hashable {
    /// The key's events, oldest first.
    public var facts: [AuditFact]
    /// `VerifyAuditChain`'s verdict.
    public var chainValid: Bool
    /// How many events the chain check covered.
    public var eventsChecked: Int
    /// Why the chain is broken, when it is.
    public var chainProblem: String

    /// Creates evidence.
    public init(facts: [AuditFact], chainValid: Bool, eventsChecked: Int, chainProblem: String = "") {
        self.facts = facts
        self.chainValid = chainValid
        self.eventsChecked = eventsChecked
        self.chainProblem = chainProblem
    }
}

/// One broken invariant: what happened, and the operations involved (their sequence numbers).
public struct InvariantViolation: Codable, Sendable, Hashable {
    /// What kind of violation, e.g. `success-after-revocation`, `lost-write`, `hung-call`.
    public var kind: String
    /// The operations involved (``OperationRecord/sequence``); empty when none is (e.g. a broken
    /// audit chain).
    public var operations: [Int]
    /// What happened, naming the operations.
    public var message: String

    /// Creates a violation.
    public init(kind: String, operations: [Int], message: String) {
        self.kind = kind
        self.operations = operations
        self.message = message
    }
}

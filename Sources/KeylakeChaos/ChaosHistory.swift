/// Everything recorded in one chaos run: every operation, the fault, what was found afterwards.
public struct ChaosHistory: Codable, Sendable, Hashable {
    /// The scenario.
    public var scenario: ChaosScenario
    /// The seed of the schedule.
    public var seed: UInt64
    /// Concurrent clients.
    public var clients: Int
    /// Seconds since the start of the run when the load ended.
    public var loadEnded: Double
    /// Every data-plane operation, in invoke order.
    public var operations: [OperationRecord]
    /// The fault.
    public var fault: FaultRecord
    /// The post-run verification of writes; `nil` when it could not be made.
    public var verification: WriteVerification?
    /// The audit evidence; `nil` when it could not be fetched.
    public var audit: AuditEvidence?

    /// Creates a history.
    public init(
        scenario: ChaosScenario, seed: UInt64, clients: Int, loadEnded: Double, operations: [OperationRecord], fault: FaultRecord,
        verification: WriteVerification?, audit: AuditEvidence?
    ) {
        self.scenario = scenario
        self.seed = seed
        self.clients = clients
        self.loadEnded = loadEnded
        self.operations = operations
        self.fault = fault
        self.verification = verification
        self.audit = audit
    }
}

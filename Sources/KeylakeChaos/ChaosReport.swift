/// The outcome of a chaos run, written as JSON (`--report FILE`) and summarised on stdout.
public struct ChaosReport: Codable, Sendable, Hashable {
    /// The scenario.
    public var scenario: ChaosScenario
    /// The seed: passing it again reproduces the schedule.
    public var seed: UInt64
    /// Concurrent clients.
    public var clients: Int
    /// Length of the load in seconds.
    public var duration: Double
    /// The fault's times.
    public var fault: FaultRecord
    /// Operations recorded.
    public var operations: Int
    /// Before, during and after the fault.
    public var phases: [PhaseStatistics]
    /// Failures over the whole run by error name.
    public var errors: [String: Int]
    /// Latency over the whole run.
    public var latency: LatencySummary
    /// Invariant 1: seconds from the access-removing call's return to the first denial.
    public var revocationLatency: Double?
    /// Invariant 1: operations invoked after that return (and completed before healing) that succeeded; must be 0.
    public var successesAfterRevocation: Int?
    /// Invariant 4: seconds from healing to the first success after it.
    public var recoveryTime: Double?
    /// Invariant 4's bound.
    public var recoveryBound: Double
    /// Calls that never completed.
    public var hungCalls: Int
    /// Every invariant's verdict.
    public var invariants: [InvariantResult]
    /// Whether every invariant passed.
    public var passed: Bool
    /// The recorded history, for reproducing and investigating.
    public var history: ChaosHistory

    /// Builds the report of `history`, checking its invariants with `checker`.
    public init(history: ChaosHistory, duration: Double, checker: InvariantChecker = InvariantChecker()) {
        self.scenario = history.scenario
        self.seed = history.seed
        self.clients = history.clients
        self.duration = duration
        self.fault = history.fault
        self.operations = history.operations.count
        let faultEnd = history.fault.healReturned ?? history.loadEnded
        let end = max(history.loadEnded, history.operations.compactMap(\.completed).max() ?? 0)
        let bounds: [(String, Double, Double)] = [
            ("before", 0, history.fault.injectInvoked), ("during", history.fault.injectInvoked, faultEnd), ("after", faultEnd, end),
        ]
        self.phases = bounds.map { name, start, stop in
            PhaseStatistics(phase: name, start: start, end: stop, operations: history.operations.filter { $0.invoked >= start && $0.invoked < stop })
        }
        self.errors = PhaseStatistics.errorCounts(history.operations)
        self.latency = LatencySummary(latencies: history.operations.compactMap(\.latency))
        if history.scenario.takesAccessAway {
            self.revocationLatency = InvariantChecker.revocationLatency(history)
            self.successesAfterRevocation = InvariantChecker.revocationWindow(history).filter(\.succeeded).count
        }
        self.recoveryTime = InvariantChecker.recoveryTime(history)
        self.recoveryBound = checker.settings.recoveryBound
        self.hungCalls = history.operations.filter { $0.completed == nil }.count
        self.invariants = checker.check(history)
        self.passed = self.invariants.allSatisfy(\.passed)
        self.history = history
    }
}

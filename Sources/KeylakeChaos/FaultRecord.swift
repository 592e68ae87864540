/// When the fault was injected and, for reversible faults, healed; seconds since the start of the
/// run, on the same clock as ``OperationRecord``.
public struct FaultRecord: Codable, Sendable, Hashable {
    /// The scenario.
    public var scenario: ChaosScenario
    /// When the injecting call (e.g. `RevokeGrant`, SIGKILL, adding the toxic) was made.
    public var injectInvoked: Double
    /// When it returned.
    public var injectReturned: Double
    /// When healing started (e.g. `EnableKey`, restart, removing the toxic); `nil` when the fault
    /// is not healed.
    public var healInvoked: Double?
    /// When healing finished (for a restart: the daemon was ready again).
    public var healReturned: Double?

    /// Creates a record.
    public init(scenario: ChaosScenario, injectInvoked: Double, injectReturned: Double, healInvoked: Double? = nil, healReturned: Double? = nil) {
        self.scenario = scenario
        self.injectInvoked = injectInvoked
        self.injectReturned = injectReturned
        self.healInvoked = healInvoked
        self.healReturned = healReturned
    }
}

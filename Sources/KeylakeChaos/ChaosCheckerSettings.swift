/// The bounds the invariant checker applies; every value has a documented default.
public struct ChaosCheckerSettings: Codable, Sendable, Hashable {
    /// Invariant 4: the longest time from the end of a reversible fault to the first successful
    /// operation invoked after it. Default 15 s.
    public var recoveryBound: Double
    /// Invariant 3: how long after its deadline a call may still complete (scheduling on a loaded
    /// machine) before it counts as outliving the deadline. Default 2 s.
    public var deadlineGrace: Double
    /// Invariant 5: slack around an operation's window when matching audit events, on top of the
    /// one second kmsd's whole-second event times lose. Default 0.5 s.
    public var auditTimeSlack: Double
    /// Error names that are a definite answer of the server for a write that did nothing are all
    /// names except these: a write that failed with one of these may or may not have happened.
    /// Default: `DEADLINE_EXCEEDED`, `CANCELLED`, `UNAVAILABLE`, `UNKNOWN`, `INTERNAL`,
    /// `InternalServerException`.
    public var indeterminateErrorNames: Set<String>
    /// Invariant 3 under partition and blackhole: the only error names allowed for calls during
    /// the fault. Default `DEADLINE_EXCEEDED`, `UNAVAILABLE`, `KmsKeyUnavailableException`.
    public var unavailabilityErrorNames: Set<String>

    /// Creates settings; every argument has the documented default.
    public init(
        recoveryBound: Double = 15, deadlineGrace: Double = 2, auditTimeSlack: Double = 0.5,
        indeterminateErrorNames: Set<String> = ["DEADLINE_EXCEEDED", "CANCELLED", "UNAVAILABLE", "UNKNOWN", "INTERNAL", "InternalServerException"],
        unavailabilityErrorNames: Set<String> = ["DEADLINE_EXCEEDED", "UNAVAILABLE", "KmsKeyUnavailableException"]
    ) {
        self.recoveryBound = recoveryBound
        self.deadlineGrace = deadlineGrace
        self.auditTimeSlack = auditTimeSlack
        self.indeterminateErrorNames = indeterminateErrorNames
        self.unavailabilityErrorNames = unavailabilityErrorNames
    }
}

/// A fault the chaos runner injects mid-load.
public enum ChaosScenario: String, Codable, Sendable, CaseIterable {
    /// The account root revokes the data service's grant on the customer-managed key.
    case revokeGrant = "revoke-grant"
    /// The data service's grant is retired by its retiring principal (the data service itself).
    case retireGrant = "retire-grant"
    /// The key is disabled, then enabled again.
    case disableKey = "disable-key"
    /// The key is scheduled for deletion, then the deletion is cancelled and the key enabled.
    case scheduleDeletion = "schedule-deletion"
    /// `kmsd` is killed with SIGKILL and restarted after a pause.
    case killKMS = "kill-kms"
    /// `fhird` is killed with SIGKILL and restarted.
    case killData = "kill-data"
    /// The link between fhird and kmsd is cut: new connections refused, open ones closed.
    case partition
    /// The link between fhird and kmsd gets latency with jitter.
    case latency
    /// Connections between fhird and kmsd are reset (TCP RST).
    case reset
    /// The link between fhird and kmsd stops forwarding bytes, leaving connections open.
    case blackhole
    /// The link between fhird and kmsd is throttled and its bytes are sliced into small pieces.
    case slow

    /// Whether the fault takes the data service's use of the key away (invariant 1 applies).
    public var takesAccessAway: Bool {
        switch self {
        case .revokeGrant, .retireGrant, .disableKey, .scheduleDeletion: true
        default: false
        }
    }

    /// Whether the fault is healed during the run (invariant 4 applies). Revoking or retiring a
    /// grant is not undone: getting a new grant is the customer's decision, not recovery.
    public var isReversible: Bool { !(self == .revokeGrant || self == .retireGrant) }

    /// Whether the fault is on the fhird–kmsd link (needs the in-process fault proxy).
    public var isLinkFault: Bool {
        switch self {
        case .partition, .latency, .reset, .blackhole, .slow: true
        default: false
        }
    }

    /// Whether the runner must start and control the daemons itself (it cannot target a running
    /// deployment): process kills and link faults.
    public var needsManagedMode: Bool {
        self == .killKMS || self == .killData || self.isLinkFault
    }

    /// Whether calls during the fault must end only with deadline or unavailability errors
    /// (invariant 3's error check).
    public var restrictsErrorsToUnavailability: Bool { self == .partition || self == .blackhole }

    /// The error names that count as "access denied by the key service" for this scenario: the
    /// first of them after the fault is the revocation latency's end.
    public var denialErrorNames: Set<String> {
        switch self {
        case .revokeGrant, .retireGrant: ["KmsKeyAccessDeniedException"]
        case .disableKey: ["KmsKeyDisabledException"]
        case .scheduleDeletion: ["KmsKeyInvalidStateException"]
        default: []
        }
    }

    /// Whether `invariant` is checked for this scenario.
    public func applies(_ invariant: Invariant) -> Bool {
        switch invariant {
        case .noSuccessAfterRevocation: self.takesAccessAway
        case .acknowledgedWritesDurable, .deadlinesHonoured, .auditComplete: true
        case .recoversWithinBound: self.isReversible
        }
    }
}

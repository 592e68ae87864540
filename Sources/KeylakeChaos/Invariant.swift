/// The five invariants the checker verifies over a run's history.
public enum Invariant: Int, Codable, Sendable, CaseIterable, Comparable {
    /// 1. No data operation invoked after the revoke/retire/disable/schedule-deletion call
    /// returned (and completed before the fault was healed) succeeds.
    case noSuccessAfterRevocation = 1
    /// 2. Every acknowledged write is readable afterwards with exactly the acknowledged content;
    /// no write that definitely failed left a visible trace.
    case acknowledgedWritesDurable = 2
    /// 3. No call outlives its deadline (none hangs); under partition and blackhole, failures are
    /// deadline or unavailability errors.
    case deadlinesHonoured = 3
    /// 4. After a reversible fault ends, the data service serves again within the recovery bound,
    /// without a restart.
    case recoversWithinBound = 4
    /// 5. Every operation that needed the key has an allowed key-service audit event; none is
    /// allowed while access is taken away; the audit chain verifies.
    case auditComplete = 5

    /// A short name for reports.
    public var name: String {
        switch self {
        case .noSuccessAfterRevocation: "no success after revocation"
        case .acknowledgedWritesDurable: "acknowledged writes durable, failed writes invisible"
        case .deadlinesHonoured: "no call outlives its deadline"
        case .recoversWithinBound: "recovery within the bound"
        case .auditComplete: "audit complete and chain verified"
        }
    }

    /// Orders by number.
    public static func < (lhs: Invariant, rhs: Invariant) -> Bool { lhs.rawValue < rhs.rawValue }
}

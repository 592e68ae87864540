/// Checks the five invariants over a run's full history. Pure: no clock, no I/O, so it can be
/// tested with synthetic histories.
public struct InvariantChecker: Sendable {
    /// The bounds applied.
    public var settings: ChaosCheckerSettings

    /// A checker with `settings`.
    public init(settings: ChaosCheckerSettings = ChaosCheckerSettings()) {
        self.settings = settings
    }

    /// Every invariant's verdict, in order; invariants that do not apply to the scenario pass
    /// with `applies == false`.
    public func check(_ history: ChaosHistory) -> [InvariantResult] {
        Invariant.allCases.map { invariant in
            guard history.scenario.applies(invariant) else {
                return InvariantResult(invariant: invariant, applies: false, detail: "does not apply to \(history.scenario.rawValue)", violations: [])
            }
            switch invariant {
            case .noSuccessAfterRevocation: return self.checkRevocation(history)
            case .acknowledgedWritesDurable: return self.checkWrites(history)
            case .deadlinesHonoured: return self.checkDeadlines(history)
            case .recoversWithinBound: return self.checkRecovery(history)
            case .auditComplete: return self.checkAudit(history)
            }
        }
    }

    /// Operations invoked after the access-removing call returned and completed before healing
    /// began: the ones that must all fail.
    static func revocationWindow(_ history: ChaosHistory) -> [OperationRecord] {
        let fault = history.fault
        return history.operations.filter { operation in
            guard operation.invoked > fault.injectReturned else { return false }
            guard let healInvoked = fault.healInvoked else { return true }
            // A call still running when healing began may legitimately succeed.
            return (operation.completed ?? .infinity) < healInvoked
        }
    }

    /// Seconds from the return of the access-removing call to the completion of the first call
    /// denied for it (0 when the denial came before the call had returned); `nil` without a denial.
    public static func revocationLatency(_ history: ChaosHistory) -> Double? {
        let denials = history.scenario.denialErrorNames
        let first = history.operations
            .filter { operation in
                guard let completed = operation.completed, let name = operation.errorName else { return false }
                return denials.contains(name) && completed >= history.fault.injectInvoked
            }
            .compactMap(\.completed).min()
        return first.map { max(0, $0 - history.fault.injectReturned) }
    }

    /// Seconds from the end of healing to the completion of the first successful operation
    /// invoked after it; `nil` when none succeeded (or the fault was not healed).
    public static func recoveryTime(_ history: ChaosHistory) -> Double? {
        guard let healed = history.fault.healReturned else { return nil }
        return history.operations
            .filter { $0.invoked >= healed && $0.succeeded }
            .compactMap(\.completed).min()
            .map { $0 - healed }
    }

    /// Invariant 1.
    func checkRevocation(_ history: ChaosHistory) -> InvariantResult {
        let window = Self.revocationWindow(history)
        let successes = window.filter(\.succeeded)
        var violations = successes.map { operation in
            InvariantViolation(
                kind: "success-after-revocation", operations: [operation.sequence],
                message: "\(operation.label) was invoked \(Self.format(operation.invoked - history.fault.injectReturned)) s after "
                    + "the \(history.scenario.rawValue) call returned and succeeded")
        }
        if window.isEmpty {
            violations.append(
                InvariantViolation(
                    kind: "not-exercised", operations: [],
                    message: "no operation was invoked between the \(history.scenario.rawValue) call's return and healing"))
        }
        let latency = Self.revocationLatency(history).map { "\(Self.format($0)) s" } ?? "no denial observed"
        return InvariantResult(
            invariant: .noSuccessAfterRevocation, applies: true,
            detail: "\(window.count) operations after the call returned, \(successes.count) succeeded; first denial after \(latency)",
            violations: violations)
    }

    /// Invariant 3.
    func checkDeadlines(_ history: ChaosHistory) -> InvariantResult {
        var violations: [InvariantViolation] = []
        for operation in history.operations {
            guard let latency = operation.latency else {
                violations.append(
                    InvariantViolation(
                        kind: "hung-call", operations: [operation.sequence],
                        message: "\(operation.label) invoked at \(Self.format(operation.invoked)) s never completed (deadline \(Self.format(operation.deadline)) s)"))
                continue
            }
            if latency > operation.deadline + self.settings.deadlineGrace {
                violations.append(
                    InvariantViolation(
                        kind: "deadline-outlived", operations: [operation.sequence],
                        message: "\(operation.label) took \(Self.format(latency)) s, past its deadline of \(Self.format(operation.deadline)) s"))
            }
        }
        if history.scenario.restrictsErrorsToUnavailability {
            let fault = history.fault
            let end = fault.healReturned ?? history.loadEnded
            for operation in history.operations where operation.invoked >= fault.injectInvoked && operation.invoked <= end {
                if let name = operation.errorName, !self.settings.unavailabilityErrorNames.contains(name) {
                    violations.append(
                        InvariantViolation(
                            kind: "unexpected-error", operations: [operation.sequence],
                            message: "\(operation.label) failed with \(name) during \(history.scenario.rawValue); only "
                                + self.settings.unavailabilityErrorNames.sorted().joined(separator: ", ") + " are allowed"))
                }
            }
        }
        let hung = history.operations.filter { $0.completed == nil }.count
        return InvariantResult(
            invariant: .deadlinesHonoured, applies: true,
            detail: "\(history.operations.count) calls, \(hung) hung, grace \(Self.format(self.settings.deadlineGrace)) s past each deadline",
            violations: violations)
    }

    /// Invariant 4.
    func checkRecovery(_ history: ChaosHistory) -> InvariantResult {
        let bound = self.settings.recoveryBound
        guard let healed = history.fault.healReturned else {
            return InvariantResult(
                invariant: .recoversWithinBound, applies: true, detail: "the fault was never healed",
                violations: [InvariantViolation(kind: "not-healed", operations: [], message: "the \(history.scenario.rawValue) fault was never healed")])
        }
        let after = history.operations.filter { $0.invoked >= healed }
        guard let recovery = Self.recoveryTime(history) else {
            let failed = after.prefix(10).map(\.sequence)
            return InvariantResult(
                invariant: .recoversWithinBound, applies: true, detail: "no successful operation after healing (bound \(Self.format(bound)) s)",
                violations: [
                    InvariantViolation(
                        kind: "no-recovery", operations: Array(failed),
                        message: "none of the \(after.count) operations invoked after healing succeeded"
                            + (failed.isEmpty ? "" : "; first: " + after.prefix(3).map { "\($0.label) \($0.errorName ?? "hung")" }.joined(separator: ", ")))
                ])
        }
        var violations: [InvariantViolation] = []
        if recovery > bound {
            let first = after.filter(\.succeeded).min { ($0.completed ?? 0) < ($1.completed ?? 0) }
            violations.append(
                InvariantViolation(
                    kind: "slow-recovery", operations: first.map { [$0.sequence] } ?? [],
                    message: "the first success after healing came \(Self.format(recovery)) s later, over the bound of \(Self.format(bound)) s"))
        }
        return InvariantResult(
            invariant: .recoversWithinBound, applies: true,
            detail: "recovered \(Self.format(recovery)) s after healing (bound \(Self.format(bound)) s)", violations: violations)
    }

    /// Seconds rounded to milliseconds, for messages and summaries.
    public static func format(_ seconds: Double) -> String {
        let milliseconds = (seconds * 1000).rounded()
        return "\(milliseconds / 1000)"
    }
}

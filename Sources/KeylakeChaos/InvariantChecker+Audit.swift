extension InvariantChecker {
    /// The audit event that records the fault's call, for scenarios that make one.
    static func faultEventName(_ scenario: ChaosScenario) -> String? {
        switch scenario {
        case .revokeGrant: "RevokeGrant"
        case .retireGrant: "RetireGrant"
        case .disableKey: "DisableKey"
        case .scheduleDeletion: "ScheduleKeyDeletion"
        default: nil
        }
    }

    /// Invariant 5: every successful data operation is matched to its own allowed key-use event
    /// by the data service in its time window; none is allowed between the fault's event and the
    /// healing `EnableKey`; the fault's calls are audited; the chain verifies.
    func checkAudit(_ history: ChaosHistory) -> InvariantResult {
        guard let audit = history.audit else {
            return InvariantResult(
                invariant: .auditComplete, applies: true, detail: "no audit trail",
                violations: [InvariantViolation(kind: "audit-missing", operations: [], message: "the audit trail could not be fetched")])
        }
        var violations: [InvariantViolation] = []
        if !audit.chainValid {
            violations.append(InvariantViolation(kind: "audit-chain-broken", operations: [], message: "the audit chain does not verify: \(audit.chainProblem)"))
        }
        let facts = audit.facts.sorted { $0.position < $1.position }
        // Every successful operation needs an allowed key use of its own in its window. Matching
        // intervals to points: take operations by window end, give each the earliest unused event
        // not before its window start — this finds a complete matching whenever one exists.
        let uses = facts.filter(\.isAllowedDataKeyUse).map(\.time).sorted()
        var used = [Bool](repeating: false, count: uses.count)
        let successes = history.operations.filter(\.succeeded)
        var unmatched: [OperationRecord] = []
        let early = 1 + self.settings.auditTimeSlack
        for operation in successes.sorted(by: { ($0.completed ?? 0) < ($1.completed ?? 0) }) {
            let start = operation.invoked - early
            let end = (operation.completed ?? operation.invoked) + self.settings.auditTimeSlack
            var low = 0
            var high = uses.count
            while low < high {
                let middle = (low + high) / 2
                if uses[middle] < start { low = middle + 1 } else { high = middle }
            }
            var index = low
            while index < uses.count, uses[index] <= end, used[index] { index += 1 }
            if index < uses.count, uses[index] <= end {
                used[index] = true
            } else {
                unmatched.append(operation)
            }
        }
        if !unmatched.isEmpty {
            violations.append(
                InvariantViolation(
                    kind: "missing-audit-event", operations: unmatched.map(\.sequence),
                    message: "\(unmatched.count) successful operation(s) have no allowed key-service event of the data service in their window: "
                        + unmatched.prefix(5).map(\.label).joined(separator: ", ")))
        }
        var detail = "\(successes.count) successful operations matched against \(uses.count) allowed key uses; chain "
            + (audit.chainValid ? "valid (\(audit.eventsChecked) events)" : "BROKEN")
        if let faultName = Self.faultEventName(history.scenario) {
            if let faultEvent = facts.first(where: { $0.eventName == faultName && $0.allowed }) {
                let healEvent =
                    history.scenario.isReversible
                    ? facts.first(where: { $0.position > faultEvent.position && $0.eventName == "EnableKey" && $0.allowed }) : nil
                if history.scenario.isReversible, healEvent == nil {
                    violations.append(
                        InvariantViolation(kind: "missing-audit-event", operations: [], message: "the healing EnableKey call has no audit event"))
                }
                let limit = healEvent?.position ?? Int.max
                let leaks = facts.filter { $0.position > faultEvent.position && $0.position < limit && $0.isAllowedDataKeyUse }
                if !leaks.isEmpty {
                    let involved = history.operations.filter { operation in
                        leaks.contains { fact in
                            fact.time >= operation.invoked - early && fact.time <= (operation.completed ?? .infinity) + self.settings.auditTimeSlack
                        }
                    }
                    violations.append(
                        InvariantViolation(
                            kind: "allowed-after-revocation", operations: involved.map(\.sequence),
                            message: "kmsd allowed \(leaks.count) key use(s) by the data service after \(faultName): "
                                + leaks.prefix(3).map { "\($0.eventName) at event \($0.position)" }.joined(separator: ", ")))
                }
                detail += "; \(faultName) at event \(faultEvent.position), no allowed key use after it"
                    + (healEvent.map { " until EnableKey at event \($0.position)" } ?? "")
            } else {
                violations.append(
                    InvariantViolation(kind: "missing-audit-event", operations: [], message: "the \(faultName) call has no allowed audit event"))
            }
        }
        return InvariantResult(invariant: .auditComplete, applies: true, detail: detail, violations: violations)
    }
}

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
    /// by the data service in its time window; none is allowed (stamped) after the fault's call returned
    /// (until the healing `EnableKey`, or the verification's new grant); the fault's calls are audited; the chain verifies.
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
        // A fact's earliest possible real moment is its time; it may be up to its uncertainty
        // later. Matching uses the latest possible moment against the window's start and the
        // earliest against its end.
        let useFacts = facts.filter(\.isAllowedDataKeyUse).sorted { $0.time < $1.time }
        let uses = useFacts.map(\.time)
        let uncertainty = useFacts.map(\.timeUncertainty).max() ?? 0
        var used = [Bool](repeating: false, count: uses.count)
        let successes = history.operations.filter(\.succeeded)
        var unmatched: [OperationRecord] = []
        let early = uncertainty + self.settings.auditTimeSlack
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
                // The window ends when access comes back: the healing EnableKey, or after
                // revoke/retire the account root's new grant for the verification.
                let healName = history.scenario.isReversible ? "EnableKey" : "CreateGrant"
                let healEvent = facts.first { $0.position > faultEvent.position && $0.eventName == healName && $0.allowed && !$0.byDataService }
                if history.scenario.isReversible, healEvent == nil {
                    violations.append(
                        InvariantViolation(kind: "missing-audit-event", operations: [], message: "the healing EnableKey call has no audit event"))
                }
                let limit = healEvent?.position ?? Int.max
                // kmsd decides a cryptographic call before it appends the call's event (possibly
                // in a later batch), so the trail's order alone cannot tell a call authorised
                // concurrently with the fault's call from one authorised after it. The event's
                // time can: an allowed use stamped later than the fault's call returned (plus
                // the slack for the moment between decision and stamp) was decided after it.
                let returned = history.fault.injectReturned + self.settings.auditTimeSlack
                let allowedUses = facts.filter { $0.position > faultEvent.position && $0.position < limit && $0.isAllowedDataKeyUse }
                let leaks = allowedUses.filter { $0.time > returned }
                let raced = allowedUses.count - leaks.count
                if !leaks.isEmpty {
                    let involved = history.operations.filter { operation in
                        leaks.contains { fact in
                            fact.time >= operation.invoked - fact.timeUncertainty - self.settings.auditTimeSlack
                                && fact.time <= (operation.completed ?? .infinity) + self.settings.auditTimeSlack
                        }
                    }
                    violations.append(
                        InvariantViolation(
                            kind: "allowed-after-revocation", operations: Array(involved.map(\.sequence).prefix(20)),
                            message: "kmsd allowed \(leaks.count) key use(s) by the data service stamped after the \(faultName) call returned: "
                                + leaks.prefix(3).map { "\($0.eventName) at event \($0.position) (\(Self.format($0.time)) s)" }.joined(separator: ", ")))
                }
                detail += "; \(faultName) at event \(faultEvent.position), then \(raced) allowed key use(s) decided before it returned"
                    + ", none after" + (healEvent.map { " until \(healName) at event \($0.position)" } ?? "")
            } else {
                violations.append(
                    InvariantViolation(kind: "missing-audit-event", operations: [], message: "the \(faultName) call has no allowed audit event"))
            }
        }
        return InvariantResult(invariant: .auditComplete, applies: true, detail: detail, violations: violations)
    }
}

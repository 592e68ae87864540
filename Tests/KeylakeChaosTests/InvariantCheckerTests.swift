import KeylakeChaos
import Testing

@Suite("Invariant checker")
struct InvariantCheckerTests {
    @Test("a clean history passes every invariant", arguments: ChaosScenario.allCases)
    func cleanHistoryPasses(scenario: ChaosScenario) {
        let results = SyntheticHistory(scenario).check()
        for invariant in Invariant.allCases {
            #expect(results[invariant]?.passed == true, "\(scenario.rawValue) invariant \(invariant.rawValue): \(results[invariant]?.violations ?? [])")
            #expect(results[invariant]?.applies == scenario.applies(invariant))
        }
    }

    @Test("which invariants apply where")
    func applicability() {
        #expect(!ChaosScenario.revokeGrant.applies(.recoversWithinBound))
        #expect(ChaosScenario.revokeGrant.applies(.noSuccessAfterRevocation))
        #expect(ChaosScenario.disableKey.applies(.recoversWithinBound))
        #expect(!ChaosScenario.killKMS.applies(.noSuccessAfterRevocation))
        #expect(ChaosScenario.partition.needsManagedMode && !ChaosScenario.disableKey.needsManagedMode)
    }

    @Test("a success after revocation is a violation naming the operation")
    func successAfterRevocation() {
        var synthetic = SyntheticHistory(.revokeGrant)
        let bad = synthetic.add(.read, id: "p1", at: 3.5, took: 0.1)
        synthetic.fact("Decrypt", at: 3.5)
        let result = synthetic.check()[.noSuccessAfterRevocation]!
        #expect(!result.passed)
        #expect(result.violations.map(\.kind) == ["success-after-revocation"])
        #expect(result.violations.first?.operations == [bad])
        #expect(result.violations.first?.message.contains("#\(bad) read Patient/p1") == true)
        let report = ChaosReport(history: synthetic.history, duration: 8)
        #expect(report.successesAfterRevocation == 1)
        #expect(!report.passed)
    }

    @Test("a success invoked before the revocation returned, or while healing, is allowed")
    func concurrentSuccessesAllowed() {
        var synthetic = SyntheticHistory(.disableKey)
        synthetic.add(.read, id: "p1", at: 3.05, took: 0.2)  // invoked before the call returned
        synthetic.add(.read, id: "p1", at: 4.9, took: 0.3)  // completed after healing began
        synthetic.fact("Decrypt", at: 3.0)
        synthetic.fact("Decrypt", at: 5.0)
        #expect(synthetic.check()[.noSuccessAfterRevocation]?.passed == true)
    }

    @Test("revocation latency is measured from the call's return to the first denial")
    func revocationLatency() {
        var synthetic = SyntheticHistory(.revokeGrant)
        synthetic.add(.read, id: "p1", at: 3.2, took: 0.15, error: "KmsKeyAccessDeniedException")
        let latency = InvariantChecker.revocationLatency(synthetic.history)
        #expect(latency.map { abs($0 - 0.25) < 1e-9 } == true)
    }

    @Test("a revocation no operation ran after is not exercised")
    func notExercised() {
        var synthetic = SyntheticHistory(.retireGrant)
        synthetic.operations.removeAll { $0.invoked > 3.1 }
        let result = synthetic.check()[.noSuccessAfterRevocation]!
        #expect(result.violations.map(\.kind) == ["not-exercised"])
    }

    @Test("a lost acknowledged write is a violation naming the write")
    func lostWrite() {
        var synthetic = SyntheticHistory(.killKMS)
        synthetic.reads = [.init(resourceType: "Patient", resourceID: "p1", contentDigest: nil, errorName: "ResourceNotFoundException")]
        let result = synthetic.check()[.acknowledgedWritesDurable]!
        #expect(result.violations.map(\.kind) == ["lost-write"])
        #expect(result.violations.first?.operations == [1])
        #expect(result.violations.first?.message.contains("ResourceNotFoundException") == true)
    }

    @Test("an acknowledged write never read back is a violation")
    func unverifiedWrite() {
        var synthetic = SyntheticHistory(.killData)
        synthetic.reads = []
        #expect(synthetic.check()[.acknowledgedWritesDurable]?.violations.map(\.kind) == ["write-not-verified"])
    }

    @Test("a changed acknowledged write is a violation")
    func changedWrite() {
        var synthetic = SyntheticHistory(.killData)
        synthetic.add(.update, id: "p1", at: 2.0, took: 0.1, digest: "d2")
        synthetic.fact("GenerateDataKey", at: 2.0)
        // Reads back the create's content: the acknowledged update is gone.
        let result = synthetic.check()[.acknowledgedWritesDurable]!
        #expect(result.violations.map(\.kind) == ["changed-write"])
        #expect(result.violations.first?.operations == [synthetic.operations.last!.sequence])
    }

    @Test("an update that timed out may or may not have happened")
    func indeterminateUpdate() {
        var synthetic = SyntheticHistory(.blackhole)
        synthetic.add(.update, id: "p1", at: 3.5, took: 5.0, error: "DEADLINE_EXCEEDED", digest: "d3")
        synthetic.reads = [.init(resourceType: "Patient", resourceID: "p1", contentDigest: "d3", errorName: nil)]
        #expect(synthetic.check()[.acknowledgedWritesDurable]?.passed == true)
        synthetic.reads = [.init(resourceType: "Patient", resourceID: "p1", contentDigest: "d1", errorName: nil)]
        #expect(synthetic.check()[.acknowledgedWritesDurable]?.passed == true)
    }

    @Test("an update that definitely failed must leave no trace")
    func failedUpdateVisible() {
        var synthetic = SyntheticHistory(.disableKey)
        let failed = synthetic.add(.update, id: "p1", at: 3.5, took: 0.1, error: "KmsKeyDisabledException", digest: "d4")
        synthetic.reads = [.init(resourceType: "Patient", resourceID: "p1", contentDigest: "d4", errorName: nil)]
        let result = synthetic.check()[.acknowledgedWritesDurable]!
        #expect(result.violations.map(\.kind) == ["failed-write-visible"])
        #expect(result.violations.first?.operations == [failed])
    }

    @Test("a failed create that left a trace is a violation; one that left none passes")
    func failedCreateTrace() {
        var synthetic = SyntheticHistory(.revokeGrant)
        let failed = synthetic.add(.create, id: "", at: 3.6, took: 0.1, error: "KmsKeyAccessDeniedException", digest: "d5", marker: "m5")
        synthetic.markerSearches = [.init(operation: failed, foundIDs: [], errorName: nil)]
        #expect(synthetic.check()[.acknowledgedWritesDurable]?.passed == true)
        synthetic.markerSearches = [.init(operation: failed, foundIDs: ["ghost"], errorName: nil)]
        let result = synthetic.check()[.acknowledgedWritesDurable]!
        #expect(result.violations.map(\.kind) == ["failed-write-visible"])
        #expect(result.violations.first?.operations == [failed])
        synthetic.markerSearches = []
        #expect(synthetic.check()[.acknowledgedWritesDurable]?.violations.map(\.kind) == ["write-not-verified"])
    }

    @Test("a hung call is a violation naming it")
    func hungCall() {
        var synthetic = SyntheticHistory(.partition)
        let hung = synthetic.add(.search, id: "", at: 3.5, took: nil)
        let result = synthetic.check()[.deadlinesHonoured]!
        #expect(result.violations.map(\.kind) == ["hung-call"])
        #expect(result.violations.first?.operations == [hung])
        #expect(ChaosReport(history: synthetic.history, duration: 8).hungCalls == 1)
    }

    @Test("a call outliving its deadline is a violation; one within the grace is not")
    func deadlineOutlived() {
        var synthetic = SyntheticHistory(.latency)
        synthetic.add(.read, id: "p1", at: 3.5, took: 6.5, error: "DEADLINE_EXCEEDED", deadline: 5)
        #expect(synthetic.check()[.deadlinesHonoured]?.passed == true)
        let late = synthetic.add(.read, id: "p1", at: 3.6, took: 7.5, error: "DEADLINE_EXCEEDED", deadline: 5)
        let result = synthetic.check()[.deadlinesHonoured]!
        #expect(result.violations.map(\.kind) == ["deadline-outlived"])
        #expect(result.violations.first?.operations == [late])
    }

    @Test("under partition, failures other than deadline or unavailability are violations")
    func unexpectedErrorUnderPartition() {
        var synthetic = SyntheticHistory(.partition)
        let odd = synthetic.add(.read, id: "p1", at: 4.5, took: 0.1, error: "InternalServerException")
        let result = synthetic.check()[.deadlinesHonoured]!
        #expect(result.violations.map(\.kind) == ["unexpected-error"])
        #expect(result.violations.first?.operations == [odd])
        // The same failure under latency is not restricted.
        var latency = SyntheticHistory(.latency)
        latency.add(.read, id: "p1", at: 4.5, took: 0.1, error: "InternalServerException")
        #expect(latency.check()[.deadlinesHonoured]?.passed == true)
    }

    @Test("no recovery within the bound is a violation")
    func noRecovery() {
        var synthetic = SyntheticHistory(.killKMS)
        synthetic.operations.removeAll { $0.invoked > 5.2 }
        synthetic.add(.read, id: "p1", at: 6.0, took: 0.1, error: "KmsKeyUnavailableException")
        let result = synthetic.check()[.recoversWithinBound]!
        #expect(result.violations.map(\.kind) == ["no-recovery"])
        #expect(!result.violations[0].operations.isEmpty)

        var slow = SyntheticHistory(.killKMS)
        slow.add(.read, id: "p1", at: 5.5, took: 0.1, error: "KmsKeyUnavailableException")
        let tight = slow.check(ChaosCheckerSettings(recoveryBound: 0.5))[.recoversWithinBound]!
        #expect(tight.violations.map(\.kind) == ["slow-recovery"])
        #expect(slow.check()[.recoversWithinBound]?.passed == true)
        #expect(InvariantChecker.recoveryTime(slow.history).map { abs($0 - 0.9) < 1e-9 } == true)
    }

    @Test("a success without its audit event is a violation naming it")
    func missingAuditEvent() {
        var synthetic = SyntheticHistory(.killKMS)
        synthetic.facts.removeAll { $0.eventName == "GenerateDataKey" }
        let result = synthetic.check()[.auditComplete]!
        #expect(result.violations.map(\.kind) == ["missing-audit-event"])
        #expect(result.violations.first?.operations == [1])
    }

    @Test("one audit event cannot vouch for two operations")
    func auditEventsAreNotShared() {
        var synthetic = SyntheticHistory(.latency)
        let second = synthetic.add(.read, id: "p1", at: 1.05, took: 0.1)
        #expect(synthetic.check()[.auditComplete]?.violations.first?.operations == [second])
        synthetic.fact("Decrypt", at: 1.0)
        #expect(synthetic.check()[.auditComplete]?.passed == true)
    }

    @Test("a broken chain, an allowed key use after revocation, an unaudited fault call are violations")
    func auditViolations() {
        var broken = SyntheticHistory(.revokeGrant)
        broken.chainValid = false
        #expect(broken.check()[.auditComplete]?.violations.map(\.kind) == ["audit-chain-broken"])

        var leak = SyntheticHistory(.revokeGrant)
        leak.fact("Decrypt", at: 4.0)
        let leakResult = leak.check()[.auditComplete]!
        #expect(leakResult.violations.map(\.kind) == ["allowed-after-revocation"])
        #expect(leakResult.violations.first?.operations.contains(2) == true)

        var never = SyntheticHistory(.retireGrant)
        never.facts.removeAll { $0.errorCode != nil }
        never.fact("Decrypt", at: 4.5)
        #expect(never.check()[.auditComplete]?.violations.map(\.kind) == ["allowed-after-revocation"])

        var unaudited = SyntheticHistory(.disableKey)
        unaudited.facts.removeAll { $0.eventName == "DisableKey" }
        #expect(unaudited.check()[.auditComplete]?.violations.map(\.kind) == ["missing-audit-event"])
    }

    @Test("key uses decided before the fault's call returned may follow its event; the verification grant ends the window")
    func racedAndVerificationUses() {
        var synthetic = SyntheticHistory(.revokeGrant)
        // Authorised concurrently with RevokeGrant, committed right after it, before any denial.
        synthetic.facts.insert(AuditFact(position: 2, eventName: "Decrypt", time: 3.0, byDataService: true, errorCode: nil), at: 2)
        synthetic.facts = synthetic.facts.enumerated().map { index, fact in
            var fact = fact
            fact.position = index
            return fact
        }
        let raced = synthetic.check()[.auditComplete]!
        #expect(raced.passed, "\(raced.violations)")
        #expect(raced.detail.contains("1 allowed key use(s) decided before it returned"))
        // The account root's new grant for the verification, then the verification's reads.
        synthetic.fact("CreateGrant", at: 9, byDataService: false)
        synthetic.fact("Decrypt", at: 9.5)
        #expect(synthetic.check()[.auditComplete]?.passed == true)
    }

    @Test("an allowed key use stamped to the millisecond after the revocation returned is a violation")
    func preciseLeak() {
        var synthetic = SyntheticHistory(.disableKey)
        synthetic.facts.insert(AuditFact(position: 2, eventName: "GenerateDataKey", time: 3.7, timePrecise: true, byDataService: true, errorCode: nil), at: 2)
        synthetic.facts = synthetic.facts.enumerated().map { index, fact in
            var fact = fact
            fact.position = index
            return fact
        }
        let result = synthetic.check()[.auditComplete]!
        #expect(result.violations.map(\.kind) == ["allowed-after-revocation"])
        #expect(result.violations.first?.message.contains("GenerateDataKey at event 2") == true)
        // The same use stamped within the slack of the return was decided concurrently.
        synthetic.facts[2].time = 3.5
        #expect(synthetic.check()[.auditComplete]?.passed == true)
    }
}

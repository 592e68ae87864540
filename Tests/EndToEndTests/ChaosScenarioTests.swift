import Foundation
import KeylakeChaos
import Testing

/// `keylake chaos <scenario>` in its CI form: each scenario for 8 s with 4 clients and a fixed
/// seed, as a subprocess starting its own kmsd and fhird; the report's invariants must all hold,
/// plus what each scenario must show.
@Suite("keylake chaos scenarios", .serialized, .timeLimit(.minutes(30)))
struct ChaosScenarioTests {
    static let seed: UInt64 = 20_261_129
    static let duration = 8.0
    /// Invariant 4's bound, seconds: recovery must happen by itself, but a loaded CI machine can
    /// take longer than the documented 15 s to get there, so here only a hang fails it.
    static let recoveryBound = 120
    /// Deadline of every FHIR call, seconds (default 5): a loaded machine makes calls slow, and a
    /// slow call cut short leaves its write undetermined. Calls during link faults still end at
    /// fhird's own 1.5 s kmsd deadline, as the scenarios need.
    static let callDeadline = 30
    /// A whole run (daemons started, 8 s of load, recovery probes, verification) on a loaded
    /// machine: only a hang runs this out.
    static let runTimeout: Duration = .seconds(600)

    /// Runs `scenario` and returns its report (after the checks every scenario shares).
    private func run(_ scenario: ChaosScenario, in workspace: Workspace) async throws -> ChaosReport? {
        let path = workspace.path("chaos-\(scenario.rawValue).json")
        let result = try await workspace.keylake(
            [
                "chaos", scenario.rawValue, "--duration", "\(Self.duration)", "--clients", "4", "--seed", "\(Self.seed)",
                "--recovery-bound", "\(Self.recoveryBound)", "--deadline", "\(Self.callDeadline)", "--report", path,
            ],
            timeout: Self.runTimeout)
        #expect(result.status == 0, "\(result.transcript)")
        #expect(result.standardOutput.contains("all invariants hold"), "\(result.transcript)")
        guard let data = FileManager.default.contents(atPath: path) else {
            Issue.record("no report at \(path)\n\(result.transcript)")
            return nil
        }
        let report = try JSONDecoder().decode(ChaosReport.self, from: data)
        // Values are taken out of the report before they are expected: a failed expectation on
        // `report.x` would print the whole report, history included.
        let summary = report.summary.joined(separator: "\n")
        let (reportScenario, seed, passed, hung) = (report.scenario, report.seed, report.passed, report.hungCalls)
        #expect(reportScenario == scenario)
        #expect(seed == Self.seed)
        #expect(passed, "\(summary)")
        for invariant in report.invariants {
            let (number, holds, applies) = (invariant.invariant.rawValue, invariant.passed, invariant.applies)
            let expectedApplies = scenario.applies(invariant.invariant)
            #expect(holds, "invariant \(number) \(invariant.name): \(invariant.violations.prefix(3).map(\.message))")
            #expect(applies == expectedApplies, "invariant \(number)")
        }
        let (invariantCount, phaseNames, succeededBefore) = (report.invariants.count, report.phases.map(\.phase), report.phases[0].succeeded)
        #expect(invariantCount == 5)
        #expect(hung == 0)
        #expect(phaseNames == ["before", "during", "after"])
        #expect(succeededBefore > 0, "no successful operation before the fault\n\(summary)")
        // The schedule is the seed's: the run planned the fault at the seed's moment and injected it
        // then, not earlier; later only by as long as a loaded machine stalls the timer (the upper
        // bound only catches a gross error, not a stall).
        let planned = ChaosSchedule(seed: Self.seed, duration: Self.duration).faultAt
        let injected = report.fault.injectInvoked
        #expect(result.standardOutput.contains("fault at \(InvariantChecker.format(planned)) s"), "\(result.transcript)")
        #expect(injected >= planned - 0.01 && injected < planned + 30, "planned \(planned), injected \(injected)")
        // Every acknowledged write was read back and every failed create searched for.
        let (verified, chainValid) = (report.history.verification != nil, report.history.audit?.chainValid == true)
        #expect(verified)
        #expect(chainValid)
        return report
    }

    /// Errors of the phase during the fault.
    private func duringErrors(_ report: ChaosReport) -> [String: Int] { report.phases[1].errors }

    @Test("access taken away: no success after the call returned, a first denial observed", arguments: [
        ChaosScenario.revokeGrant, .retireGrant, .disableKey, .scheduleDeletion,
    ])
    func accessRemoved(scenario: ChaosScenario) async throws {
        try await withWorkspace { workspace in
            guard let report = try await self.run(scenario, in: workspace) else { return }
            let summary = report.summary.joined(separator: "\n")
            let (successesAfter, revocationLatency, recovery) = (report.successesAfterRevocation, report.revocationLatency, report.recoveryTime)
            let denied = report.errors.keys.contains { scenario.denialErrorNames.contains($0) }
            #expect(successesAfter == 0, "\(summary)")
            #expect(revocationLatency != nil, "no denial observed\n\(summary)")
            #expect(denied, "\(summary)")
            if scenario.isReversible {
                #expect(recovery != nil, "\(summary)")
            } else {
                let note = report.history.verification?.accessNote ?? ""
                #expect(recovery == nil)
                #expect(note.contains("new grant"), "\(note)")
            }
        }
    }

    @Test("kill-kms: unavailability while kmsd is down, then recovery without restarting fhird")
    func killKMS() async throws {
        try await withWorkspace { workspace in
            guard let report = try await self.run(.killKMS, in: workspace) else { return }
            let summary = report.summary.joined(separator: "\n")
            let unavailable = report.errors.filter { ["KmsKeyUnavailableException", "UNAVAILABLE"].contains($0.key) }.values.reduce(0, +)
            let recovered = report.recoveryTime.map { $0 <= report.recoveryBound } == true
            #expect(unavailable > 0, "no unavailability error while kmsd was down\n\(summary)")
            #expect(recovered, "\(summary)")
        }
    }

    @Test("kill-data: fhird killed and restarted; acknowledged writes survive")
    func killData() async throws {
        try await withWorkspace { workspace in
            guard let report = try await self.run(.killData, in: workspace) else { return }
            let summary = report.summary.joined(separator: "\n")
            let (failedDuring, recovered) = (!self.duringErrors(report).isEmpty, report.recoveryTime != nil)
            let readBack = report.history.verification.map { !$0.reads.isEmpty } == true
            #expect(failedDuring, "no failure while fhird was down\n\(summary)")
            #expect(recovered, "\(summary)")
            #expect(readBack)
        }
    }

    @Test("partition and blackhole: calls fail with deadline or unavailability errors, none hangs", arguments: [
        ChaosScenario.partition, .blackhole,
    ])
    func linkCut(scenario: ChaosScenario) async throws {
        try await withWorkspace { workspace in
            guard let report = try await self.run(scenario, in: workspace) else { return }
            let summary = report.summary.joined(separator: "\n")
            // A call in flight when the link was cut is counted in the phase it was invoked in
            // ("before"), and one invoked shortly before healing waits and then succeeds; so the
            // cut shows as failures of calls invoked before or during it.
            var errors = self.duringErrors(report)
            errors.merge(report.phases[0].errors, uniquingKeysWith: +)
            #expect(!errors.isEmpty, "no failure of a call invoked before or while the link was cut\n\(summary)")
            let allowed: Set<String> = ["DEADLINE_EXCEEDED", "UNAVAILABLE", "KmsKeyUnavailableException"]
            #expect(Set(errors.keys).isSubset(of: allowed), "\(errors)")
            let (hung, recovered) = (report.hungCalls, report.recoveryTime != nil)
            #expect(hung == 0)
            #expect(recovered, "\(summary)")
        }
    }

    @Test("latency, reset, slow: the link degrades and heals; the data service recovers", arguments: [
        ChaosScenario.latency, .reset, .slow,
    ])
    func linkDegraded(scenario: ChaosScenario) async throws {
        try await withWorkspace { workspace in
            guard let report = try await self.run(scenario, in: workspace) else { return }
            let summary = report.summary.joined(separator: "\n")
            let recovered = report.recoveryTime != nil
            #expect(recovered, "\(summary)")
            switch scenario {
            case .latency:
                let (before, during) = (report.phases[0].latency.p50, report.phases[1].latency.p50)
                #expect(during > before, "latency did not rise\n\(summary)")
            case .reset:
                let failedDuring = !self.duringErrors(report).isEmpty
                #expect(failedDuring, "no failure while connections were reset\n\(summary)")
            default:
                break
            }
        }
    }

    @Test("--home targets a running `keylake dev up`: disable-key passes and the deployment keeps running")
    func targetsRunningDeployment() async throws {
        try await withWorkspace { workspace in
            let home = workspace.path("home")
            let devUp = try workspace.startKeylake(["dev", "up", "--dir", home])
            try await devUp.waitForOutput(containing: "both daemons ready", timeout: .seconds(180))
            let path = workspace.path("chaos-target.json")
            let result = try await workspace.keylake(
                [
                    "chaos", "disable-key", "--home", home, "--duration", "\(Self.duration)", "--seed", "\(Self.seed)",
                    "--recovery-bound", "\(Self.recoveryBound)", "--deadline", "\(Self.callDeadline)", "--report", path,
                ],
                timeout: Self.runTimeout)
            #expect(result.status == 0, "\(result.transcript)")
            #expect(result.standardOutput.contains("targeting the running daemons of"), "\(result.transcript)")
            let report = try JSONDecoder().decode(ChaosReport.self, from: try #require(FileManager.default.contents(atPath: path)))
            let (passed, successesAfter, recovered) = (report.passed, report.successesAfterRevocation, report.recoveryTime != nil)
            #expect(passed, "\(report.summary.joined(separator: "\n"))")
            #expect(successesAfter == 0)
            #expect(recovered)
            #expect(devUp.isRunning, "the chaos run stopped the deployment it targeted\n\(devUp.transcript)")
            devUp.terminate()
            #expect(await devUp.waitForExit(timeout: .seconds(120)) == 0, "\(devUp.transcript)")
        }
    }

    @Test("bad input: an unknown scenario, or a process fault against a running deployment, is refused")
    func badInput() async throws {
        try await withWorkspace { workspace in
            let unknown = try await workspace.keylake(["chaos", "no-such-fault", "--duration", "3"], timeout: .seconds(60))
            #expect(unknown.status != 0)
            #expect(unknown.standardError.contains("unknown scenario 'no-such-fault'"), "\(unknown.transcript)")
            let managedOnly = try await workspace.keylake(["chaos", "kill-kms", "--home", workspace.path("none")], timeout: .seconds(60))
            #expect(managedOnly.status != 0)
            #expect(managedOnly.standardError.contains("needs managed mode"), "\(managedOnly.transcript)")
            let badClients = try await workspace.keylake(["chaos", "latency", "--clients", "0"], timeout: .seconds(60))
            #expect(badClients.status != 0)
            #expect(badClients.standardError.contains("--clients"), "\(badClients.transcript)")
        }
    }
}

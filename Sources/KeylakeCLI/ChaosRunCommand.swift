import ArgumentParser
import Foundation
import KeylakeChaos

/// `keylake chaos <scenario> [--clients N] [--duration S] [--seed X] [--report FILE.json]`.
struct ChaosRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one chaos scenario: concurrent FHIR load, one fault at a seeded moment, invariants checked.",
        discussion: """
            Scenarios: \(ChaosScenario.allCases.map(\.rawValue).joined(separator: ", ")). \
            By default kmsd and fhird are started as child processes in a temporary home (managed mode). \
            With --home DIR the run targets the running daemons of that home (`keylake dev up`); \
            kill-kms, kill-data and the link scenarios (partition, latency, reset, blackhole, slow) need managed mode. \
            Exits 0 only when every invariant holds.
            """)

    @Argument(help: "The scenario.")
    var scenario: String

    @Option(name: .long, help: "Concurrent FHIR clients (default 4; 16 with --soak).")
    var clients: Int?

    @Option(name: .long, help: "Seconds of load (default 20; 600 with --soak).")
    var duration: Double?

    @Option(name: .long, help: "Seed of the schedule (fault moment, operation mix); default: random, printed.")
    var seed: UInt64?

    @Option(name: .long, help: "Write the JSON report (with the full history) to this file.")
    var report: String?

    @Flag(name: .long, help: "A long run: 600 s and 16 clients unless given.")
    var soak = false

    @Option(name: .long, help: "Deadline of every FHIR call, seconds (default 5).")
    var deadline: Double = 5

    @Option(name: .long, help: "Invariant 4's bound: seconds from healing to the first success (default 15).")
    var recoveryBound: Double = 15

    @Option(name: .long, help: "Target the running daemons of this home instead of starting them.")
    var home: String?

    @Option(name: .long, help: "Managed mode: make and keep the home here (default: a temporary one, removed afterwards).")
    var dir: String?

    @Option(name: .long, help: "Managed mode: fhird's deadline for each kmsd call, milliseconds (default 1500).")
    var kmsTimeoutMs: Int = 1500

    @Flag(name: .long, inversion: .prefixedNo, help: "Include ProcessBundle transactions in the operation mix (default on).")
    var bundles = true

    @Option(name: .long, help: "Pause of each client between calls, milliseconds (default 10).")
    var thinkMs: Int = 10

    var parsedScenario: ChaosScenario {
        get throws {
            guard let scenario = ChaosScenario(rawValue: self.scenario) else {
                throw ValidationError(
                    "unknown scenario '\(self.scenario)'; one of: \(ChaosScenario.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return scenario
        }
    }

    func validate() throws {
        let scenario = try self.parsedScenario
        let clients = self.clients ?? (self.soak ? 16 : 4)
        let duration = self.duration ?? (self.soak ? 600 : 20)
        guard (1...256).contains(clients) else { throw ValidationError("--clients must be 1 to 256") }
        guard duration >= 3, duration <= 86_400 else { throw ValidationError("--duration must be 3 to 86400 seconds") }
        guard self.deadline > 0, self.deadline <= 120 else { throw ValidationError("--deadline must be above 0 and at most 120 seconds") }
        guard self.recoveryBound > 0 else { throw ValidationError("--recovery-bound must be above 0") }
        guard (100...60_000).contains(self.kmsTimeoutMs) else { throw ValidationError("--kms-timeout-ms must be 100 to 60000") }
        guard (0...10_000).contains(self.thinkMs) else { throw ValidationError("--think-ms must be 0 to 10000") }
        if self.home != nil, self.dir != nil { throw ValidationError("--home and --dir exclude each other") }
        if self.home != nil, scenario.needsManagedMode {
            throw ValidationError("\(scenario.rawValue) kills daemons or cuts their link, so it needs managed mode (no --home)")
        }
    }

    func run() async throws {
        let scenario = try self.parsedScenario
        let seed = self.seed ?? UInt64.random(in: 0...UInt64.max)
        let clients = self.clients ?? (self.soak ? 16 : 4)
        let duration = self.duration ?? (self.soak ? 600 : 20)
        let progress: @Sendable (String) -> Void = { line in
            print("chaos: \(line)")
            fflush(nil)
        }
        progress("\(scenario.rawValue), seed \(seed) (pass --seed \(seed) to reproduce the schedule)")

        let deployment: ChaosDeployment
        let temporary = self.home == nil && self.dir == nil
        let directory =
            self.dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("keylake-chaos-\(UUID().uuidString.prefix(8))").path
        do {
            if let home = self.home {
                deployment = try ChaosDeployment.targeting(directory: home)
                progress("targeting the running daemons of \(deployment.home.directory)")
            } else {
                deployment = try await ChaosDeployment.managed(
                    directory: directory, linkProxy: scenario.isLinkFault, kmsCallTimeoutMilliseconds: self.kmsTimeoutMs, logLevel: "critical")
                progress("kmsd and fhird started in \(directory)" + (scenario.isLinkFault ? ", fhird reaches kmsd through the fault proxy" : ""))
            }
        } catch {
            if temporary { try? FileManager.default.removeItem(atPath: directory) }
            Terminal.error("chaos run FAILED (no verdict): cannot reach the daemons: \(ChaosRunner.describe(error))\n")
            throw ExitCode(2)
        }
        let runner = ChaosRunner(
            scenario: scenario, clients: clients, duration: duration, seed: seed, deadline: self.deadline,
            thinkTime: .milliseconds(self.thinkMs), bundles: self.bundles, checker: InvariantChecker(settings: ChaosCheckerSettings(recoveryBound: self.recoveryBound)),
            progress: progress)
        let result: Result<ChaosReport, any Error>
        do {
            result = .success(try await runner.run(deployment))
        } catch {
            result = .failure(error)
        }
        await deployment.stop()
        if temporary { try? FileManager.default.removeItem(atPath: directory) }
        let report: ChaosReport
        switch result {
        case .success(let made): report = made
        case .failure(let error):
            Terminal.error("chaos run FAILED (no verdict): \(ChaosRunner.describe(error))\n")
            throw ExitCode(2)
        }
        if let path = self.report {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            do {
                try encoder.encode(report).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                Terminal.error("cannot write the report to \(path): \(error)\n")
                throw ExitCode(2)
            }
        }
        print("")
        for line in report.summary { print(line) }
        if let path = self.report { print("report: \(path)") }
        if !report.passed { throw ExitCode(1) }
    }
}

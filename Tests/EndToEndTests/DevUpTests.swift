import Foundation
import Testing

/// `keylake dev up` as a subprocess: real kmsd and fhird processes over real mTLS, driven by the
/// real CLI, stopped by a signal and started again on the same home.
@Suite("keylake dev up", .timeLimit(.minutes(10)))
struct DevUpTests {
    static let appPrincipal = "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"

    @Test("serves health and whoami, stops cleanly on SIGTERM, and comes back on the same ports with the same home")
    func lifecycle() async throws {
        try await withWorkspace { workspace in
            let home = workspace.path("home")

            // First run: creates the home, chooses the ports.
            let first = try await self.start(workspace, home: home)
            let kmsdPort = try configuredPort("\(home)/kmsd.json")
            let fhirdPort = try configuredPort("\(home)/fhird.json")
            #expect(kmsdPort != fhirdPort)
            #expect(readyPort(of: "kmsd", in: first.standardOutput) == kmsdPort, "\(first.transcript)")
            #expect(readyPort(of: "fhird", in: first.standardOutput) == fhirdPort, "\(first.transcript)")

            let health = try await workspace.keylake(["health", "--home", home])
            #expect(health.status == 0, "\(health.transcript)")
            #expect(health.standardOutput.contains("kmsd: serving"), "\(health.transcript)")
            #expect(health.standardOutput.contains("fhird: serving"), "\(health.transcript)")

            let whoami = try await workspace.keylake(["whoami", "--as", "app"], environment: ["KEYLAKE_HOME": home])
            #expect(whoami.status == 0, "\(whoami.transcript)")
            #expect(field("principal", in: whoami.standardOutput) == Self.appPrincipal, "\(whoami.transcript)")
            #expect(field("server", in: whoami.standardOutput) == "kmsd", "\(whoami.transcript)")

            let nobody = try await workspace.keylake(["whoami", "--as", "nobody"], environment: ["KEYLAKE_HOME": home])
            #expect(nobody.status != 0, "\(nobody.transcript)")
            #expect(nobody.standardError.contains("no identity named \"nobody\""), "\(nobody.transcript)")
            #expect(nobody.standardError.contains("app"), "the message should list the known identities\n\(nobody.transcript)")
            #expect(!nobody.standardOutput.contains("principal"), "\(nobody.transcript)")

            let caCertificate = try String(contentsOfFile: "\(home)/pki/ca.pem", encoding: .utf8)
            try await self.stop(first, ports: [kmsdPort, fhirdPort])

            // Second run on the same directory: nothing is re-made, the ports are the same.
            let second = try await self.start(workspace, home: home)
            #expect(try configuredPort("\(home)/kmsd.json") == kmsdPort)
            #expect(try configuredPort("\(home)/fhird.json") == fhirdPort)
            #expect(readyPort(of: "kmsd", in: second.standardOutput) == kmsdPort, "\(second.transcript)")
            #expect(readyPort(of: "fhird", in: second.standardOutput) == fhirdPort, "\(second.transcript)")
            #expect(try String(contentsOfFile: "\(home)/pki/ca.pem", encoding: .utf8) == caCertificate, "the CA was re-made")

            let healthAgain = try await workspace.keylake(["health", "--home", home])
            #expect(healthAgain.status == 0, "\(healthAgain.transcript)")
            #expect(healthAgain.standardOutput.contains("kmsd: serving"), "\(healthAgain.transcript)")
            #expect(healthAgain.standardOutput.contains("fhird: serving"), "\(healthAgain.transcript)")

            try await self.stop(second, ports: [kmsdPort, fhirdPort])
        }
    }

    @Test("when dev up is killed with SIGKILL its daemons shut down too, and the home starts again")
    func killedParent() async throws {
        try await withWorkspace { workspace in
            let home = workspace.path("home")
            let devUp = try await self.start(workspace, home: home)
            let daemons = ProcessTable.children(of: devUp.pid)
            #expect(daemons.count == 2)
            _ = kill(devUp.pid, SIGKILL)
            #expect(await devUp.waitForExit(timeout: .seconds(60)) != nil)
            // Orphans would stay forever: only a hang should run this out.
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(120)
            while clock.now < deadline, daemons.contains(where: ProcessTable.isAlive) {
                try await Task.sleep(for: .milliseconds(50))
            }
            let survivors = daemons.filter(ProcessTable.isAlive)
            #expect(survivors.isEmpty, "orphaned daemons: \(survivors.compactMap(ProcessTable.commandLine))")
            // The ports are free again: a new dev up on the same home comes up.
            let again = try await self.start(workspace, home: home)
            try await self.stop(again, ports: [try configuredPort("\(home)/kmsd.json"), try configuredPort("\(home)/fhird.json")])
        }
    }

    /// Starts `keylake dev up --dir HOME` and waits for it to say both daemons are ready.
    private func start(_ workspace: Workspace, home: String) async throws -> Subprocess {
        let devUp = try workspace.startKeylake(["dev", "up", "--dir", home])
        try await devUp.waitForOutput(containing: "both daemons ready", timeout: .seconds(180))
        return devUp
    }

    /// Sends SIGTERM to dev up; it must exit 0 well before its own 20 s kill fallback, and no
    /// daemon process or listener may remain.
    private func stop(_ devUp: Subprocess, ports: [Int]) async throws {
        let daemons = ProcessTable.children(of: devUp.pid)
        let commandLines = daemons.compactMap(ProcessTable.commandLine)
        #expect(daemons.count == 2, "dev up's children: \(commandLines)")
        #expect(commandLines.contains { $0.contains("daemon kmsd --config") }, "\(commandLines)")
        #expect(commandLines.contains { $0.contains("daemon fhird --config") }, "\(commandLines)")

        // Timed against the fallback itself: with it, dev up takes at least 20 s after the signal;
        // the wait is longer, so a slow clean stop on a loaded machine is told apart from a hang.
        let clock = ContinuousClock()
        let signalled = clock.now
        devUp.terminate()
        let status = await devUp.waitForExit(timeout: .seconds(120))
        let elapsed = clock.now - signalled
        try #require(status != nil, "dev up still running 120 s after SIGTERM\n\(devUp.transcript)")
        #expect(elapsed < .seconds(20), "dev up took \(elapsed) to stop: its kill fallback, not a clean stop\n\(devUp.transcript)")
        #expect(status == 0, "\(devUp.transcript)")
        #expect(devUp.standardOutput.contains("stopping (SIGTERM)"), "\(devUp.transcript)")
        #expect(devUp.standardOutput.hasSuffix("stopped\n"), "\(devUp.transcript)")

        let survivors = daemons.filter(ProcessTable.isAlive)
        #expect(survivors.isEmpty, "daemon processes left running: \(survivors.compactMap(ProcessTable.commandLine))")
        for port in ports {
            #expect(await !isListening(port: port), "port \(port) still accepts connections")
        }
    }
}

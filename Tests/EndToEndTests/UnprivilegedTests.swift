import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The product as an ordinary user runs it. Every process the end-to-end tests start runs as an
/// unprivileged user (``TestUser``); this suite checks that this is really so (the daemons' uids
/// and capabilities, read from /proc), that they serve, and that a client that cannot connect
/// says why within its own deadline instead of waiting silently.
@Suite("keylake as an unprivileged user", .timeLimit(.minutes(10)))
struct UnprivilegedTests {
    /// Real and effective uid and the effective capability set of `pid`, from /proc.
    static func credentials(_ pid: Int32) -> (uids: [UInt32], capabilities: UInt64)? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/status") else { return nil }
        var uids: [UInt32] = []
        var capabilities: UInt64?
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            if fields.first == "Uid:" { uids = fields.dropFirst().prefix(2).compactMap { UInt32($0) } }
            if fields.first == "CapEff:", fields.count > 1 { capabilities = UInt64(fields[1], radix: 16) }
        }
        guard uids.count == 2, let capabilities else { return nil }
        return (uids, capabilities)
    }

    @Test("dev up runs both daemons without root or capabilities, and they serve; a stopped home is reported as unreachable")
    func devUpUnprivileged() async throws {
        try await withWorkspace { workspace in
            let home = workspace.path("home")
            let devUp = try workspace.startKeylake(["dev", "up", "--dir", home])
            try await devUp.waitForOutput(containing: "both daemons ready", timeout: .seconds(120))

            let expectedUID = TestUser.switchTo?.uid ?? getuid()
            let processes = [devUp.pid] + ProcessTable.descendants(of: devUp.pid)
            #expect(processes.count >= 3, "dev up and its two daemons\n\(devUp.transcript)")
            for pid in processes {
                let credentials = try #require(Self.credentials(pid), "no /proc status for \(pid)")
                #expect(credentials.uids == [expectedUID, expectedUID], "\(ProcessTable.commandLine(pid) ?? "\(pid)")")
                if TestUser.switchTo != nil {
                    #expect(credentials.uids.allSatisfy { $0 != 0 }, "a product process runs as root")
                    #expect(credentials.capabilities == 0, "a product process holds capabilities \(credentials.capabilities)")
                }
            }

            let health = try await workspace.keylake(["health", "--home", home])
            #expect(health.status == 0, "\(health.transcript)")
            #expect(health.standardOutput.contains("kmsd: serving"), "\(health.transcript)")
            #expect(health.standardOutput.contains("fhird: serving"), "\(health.transcript)")

            devUp.terminate()
            #expect(await devUp.waitForExit(timeout: .seconds(60)) == 0, "\(devUp.transcript)")

            // Nothing listens now: health says so, naming the cause, on its own default deadline
            // (the 120 s here only catches a hang).
            let down = try await workspace.keylake(["health", "--home", home], timeout: .seconds(120))
            #expect(down.status == 1, "\(down.transcript)")
            for kind in ["kmsd", "fhird"] {
                let line = down.standardOutput.split(separator: "\n").first { $0.hasPrefix("\(kind): ") }
                #expect(line?.contains("unreachable") == true, "\(down.transcript)")
                #expect(line?.lowercased().contains("refused") == true, "the cause is not named\n\(down.transcript)")
            }
        }
    }
}

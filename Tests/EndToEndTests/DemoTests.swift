import Foundation
import Testing

/// `keylake demo` as a new user runs it: one subprocess, no set-up, nothing left running.
@Suite("keylake demo", .timeLimit(.minutes(10)))
struct DemoTests {
    /// The facts the demo must print, with what each one means.
    static let facts: [(text: String, meaning: String)] = [
        (
            "PutKeyPolicy with the page's statement as printed -> MalformedPolicyDocumentException",
            "the page's statement with its invalid principal is refused"
        ),
        ("did you mean role/HealthLakeFullAccessRole?", "the refusal names the principal and the correction"),
        ("its principal corrected to", "the corrected statement is installed and the demo says so"),
        ("grant created: the data service created a grant", "the data service's grant on the customer's key"),
        ("grantee healthlake.amazonaws.com", "ListGrants shows the data service as grantee"),
        ("directly -> AccessDeniedException", "the role calling GenerateDataKey directly is denied"),
        ("direct use denied", "the direct-use step passed"),
        ("[customer-managed] read   -> KmsKeyAccessDeniedException", "reads fail after revocation"),
        ("[customer-managed] write  -> KmsKeyAccessDeniedException", "writes fail after revocation"),
        ("[customer-managed] search -> KmsKeyAccessDeniedException", "searches fail after revocation"),
        ("access lost after revocation", "the revocation step passed"),
        ("the service-owned datastore still works", "the service-owned datastore is unaffected"),
        ("no patient name on disk", "the data files hold no patient name"),
        ("audit chain intact", "VerifyAuditChain passed"),
        ("demo complete: all steps passed", "the final line"),
    ]

    @Test("runs end to end, prints the key facts, exits 0, and leaves no daemon running", arguments: 1...2)
    func demo(run: Int) async throws {
        try await withWorkspace { workspace in
            let clock = ContinuousClock()
            let result = try await workspace.keylake(["demo"], timeout: .seconds(300))
            #expect(result.status == 0, "\(result.transcript)")
            for fact in Self.facts {
                #expect(result.standardOutput.contains(fact.text), "missing \(fact.meaning): \"\(fact.text)\"\n\(result.transcript)")
            }
            for event in ["CreateGrant", "DescribeKey", "GenerateDataKey", "Decrypt", "RevokeGrant"] {
                #expect(result.standardOutput.contains("      \(event) "), "audit table lacks \(event)\n\(result.transcript)")
            }
            let lines = result.standardOutput.split(separator: "\n")
            #expect(lines.last == "demo complete: all steps passed", "\(result.transcript)")

            // Nothing left running: the daemons it started (children of the demo) are gone.
            let pids = Self.reportedPIDs(in: result.standardOutput)
            #expect(pids.count == 2, "\(result.transcript)")
            let deadline = clock.now + .seconds(10)
            while clock.now < deadline, pids.contains(where: ProcessTable.isAlive) {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(pids.filter(ProcessTable.isAlive).isEmpty, "daemons still running: \(pids)")

            // The temporary home is removed, and no daemon of that home runs (other tests may run
            // their own daemons meanwhile, so only this home's count).
            if let home = Self.home(in: result.standardOutput) {
                let leftover = Self.daemonProcesses(home: home)
                #expect(leftover.isEmpty, "kmsd/fhird processes remain: \(leftover.compactMap(ProcessTable.commandLine))")
                #expect(!FileManager.default.fileExists(atPath: home), "the temporary home \(home) was left behind")
            } else {
                Issue.record("the demo did not print its home\n\(result.transcript)")
            }
        }
    }

    @Test("--dir keeps the home, with no patient name in its data files")
    func keepsDirectory() async throws {
        try await withWorkspace { workspace in
            let home = workspace.path("demo-home")
            let result = try await workspace.keylake(["demo", "--dir", home], timeout: .seconds(300))
            #expect(result.status == 0, "\(result.transcript)")
            #expect(result.standardOutput.contains("demo complete: all steps passed"), "\(result.transcript)")
            #expect(FileManager.default.fileExists(atPath: "\(home)/kmsd.json"))
            #expect(FileManager.default.fileExists(atPath: "\(home)/data/fhird"))
            for pid in Self.reportedPIDs(in: result.standardOutput) {
                #expect(!ProcessTable.isAlive(pid), "daemon \(pid) still running")
            }
            #expect(Self.daemonProcesses(home: home).isEmpty)
        }
    }

    /// Live `keylake daemon kmsd|fhird --config HOME/…` processes of `home` on this machine.
    static func daemonProcesses(home: String) -> [Int32] {
        ProcessTable.entries().filter { entry in
            guard entry.state != "Z", let line = ProcessTable.commandLine(entry.pid) else { return false }
            return (line.contains("daemon kmsd") || line.contains("daemon fhird")) && line.contains(home + "/")
        }.map(\.pid)
    }

    /// The pids of the "NAME (pid N) ready on" lines.
    static func reportedPIDs(in output: String) -> [Int32] {
        output.split(separator: "\n").compactMap { line in
            guard line.contains(" ready on "), let open = line.range(of: "(pid "), let close = line[open.upperBound...].firstIndex(of: ")")
            else { return nil }
            return Int32(line[open.upperBound..<close])
        }
    }

    /// The home directory from the "home: DIR (" line.
    static func home(in output: String) -> String? {
        for line in output.split(separator: "\n") {
            guard let range = line.range(of: "home: ") else { continue }
            return line[range.upperBound...].split(separator: " ").first.map(String.init)
        }
        return nil
    }
}

import Foundation
import Testing

/// `keylake dev certs`, run as a separate process.
@Suite("keylake dev certs", .timeLimit(.minutes(2)))
struct DevCertsTests {
    static let auditor = "arn:aws:iam::111122223333:role/Auditor"

    @Test("writes the CA and every identity, keys mode 0600, plus one for each --principal")
    func writesHome() async throws {
        try await withWorkspace { workspace in
            let out = workspace.path("certs")
            let result = try await workspace.keylake(["dev", "certs", "--out", out, "--principal", Self.auditor])
            try #require(result.status == 0, "\(result.transcript)")
            #expect(result.standardOutput.contains(Self.auditor), "\(result.transcript)")

            let identities = ["kmsd", "fhird", "admin", "app", "auditor"]
            for file in ["ca.pem", "ca-key.pem", "identities.json"] + identities.flatMap({ ["\($0).pem", "\($0)-key.pem"] }) {
                #expect(FileManager.default.fileExists(atPath: "\(out)/\(file)"), "\(file) missing\n\(result.transcript)")
            }
            let keys = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix("-key.pem") }
            #expect(Set(keys) == Set((["ca"] + identities).map { "\($0)-key.pem" }))
            for key in keys {
                let attributes = try FileManager.default.attributesOfItem(atPath: "\(out)/\(key)")
                let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
                #expect(mode & 0o777 == 0o600, "\(key) has mode \(String(mode, radix: 8))")
            }

            struct Record: Decodable { var name: String; var principal: String; var certificate: String; var privateKey: String }
            let records = try JSONDecoder().decode(
                [Record].self, from: Data(contentsOf: URL(fileURLWithPath: "\(out)/identities.json")))
            let auditor = try #require(records.first { $0.principal == Self.auditor }, "no identity for \(Self.auditor)")
            #expect(auditor.name == "auditor")
            #expect(auditor.certificate == "auditor.pem")
            #expect(auditor.privateKey == "auditor-key.pem")
            #expect(records.map(\.name) == identities)
        }
    }

    @Test("a principal with a space is refused with a clear message and nothing is written")
    func refusesBadPrincipal() async throws {
        try await withWorkspace { workspace in
            let out = workspace.path("certs")
            let bad = "arn:aws:iam::111122223333:role/Has Space"
            let result = try await workspace.keylake(["dev", "certs", "--out", out, "--principal", bad])
            #expect(result.status != 0, "\(result.transcript)")
            #expect(result.standardError.contains("principal \"\(bad)\""), "\(result.transcript)")
            #expect(result.standardError.contains("whitespace"), "\(result.transcript)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(out) was created")
        }
    }
}

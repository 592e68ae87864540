import Foundation
import Testing

/// `keylake daemon kmsd --config FILE` with a bad configuration: it must exit (not hang, not
/// listen) with a message that names what to fix.
@Suite("daemon configuration errors", .timeLimit(.minutes(5)))
struct DaemonConfigurationTests {
    @Test("malformed JSON: non-zero exit naming the file")
    func malformedJSON() async throws {
        try await withWorkspace { workspace in
            let config = workspace.path("kmsd.json")
            try #"{ "listen": { "host": "127.0.0.1", "port": 0 }, "tls": "#.write(toFile: config, atomically: true, encoding: .utf8)
            let result = try await workspace.keylake(["daemon", "kmsd", "--config", config], timeout: .seconds(120))
            #expect(result.status != 0, "\(result.transcript)")
            #expect(result.standardError.contains(config), "\(result.transcript)")
            #expect(!result.standardOutput.contains("ready on"), "\(result.transcript)")
        }
    }

    @Test("missing configuration file: non-zero exit naming the file")
    func missingFile() async throws {
        try await withWorkspace { workspace in
            let config = workspace.path("absent.json")
            let result = try await workspace.keylake(["daemon", "kmsd", "--config", config], timeout: .seconds(120))
            #expect(result.status != 0, "\(result.transcript)")
            #expect(result.standardError.contains(config), "\(result.transcript)")
        }
    }

    @Test("missing private key file: non-zero exit naming its path")
    func missingPrivateKey() async throws {
        try await withWorkspace { workspace in
            let certs = try await workspace.keylake(["dev", "certs", "--out", workspace.path("pki")])
            try #require(certs.status == 0, "\(certs.transcript)")
            let config = workspace.path("kmsd.json")
            try """
                {
                  "listen": { "host": "127.0.0.1", "port": 0 },
                  "tls": { "certificate": "pki/kmsd.pem", "privateKey": "pki/absent-key.pem", "trustRoots": "pki/ca.pem" },
                  "dataDirectory": "data/kmsd"
                }
                """.write(toFile: config, atomically: true, encoding: .utf8)
            let result = try await workspace.keylake(["daemon", "kmsd", "--config", config], timeout: .seconds(120))
            #expect(result.status != 0, "\(result.transcript)")
            #expect(result.standardError.contains(workspace.path("pki/absent-key.pem")), "\(result.transcript)")
            #expect(!result.standardOutput.contains("ready on"), "\(result.transcript)")
        }
    }
}

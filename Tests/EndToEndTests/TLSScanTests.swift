import Foundation
import Testing

/// The daemons' TLS endpoints scanned by tools that share no code with Keylake: sslyze and
/// `openssl s_client` (Tests/TLSScan/tls_scan.py), against real daemons started by `keylake dev up`.
@Suite(
    "TLS endpoints scanned with sslyze and openssl", .timeLimit(.minutes(10)),
    .enabled(if: PythonEnvironment.hasSSLyze || PythonEnvironment.isCI, "needs sslyze (pip install sslyze); scripts/test installs it"))
struct TLSScanTests {
    /// Every check the scanner must report as passed, so that none can be skipped silently.
    static let checks = [
        "sslyze reached the server",
        "sslyze: highest version TLS 1.3",
        "sslyze: SSL 2.0 rejected", "sslyze: SSL 3.0 rejected", "sslyze: TLS 1.0 rejected", "sslyze: TLS 1.1 rejected",
        "sslyze: TLS 1.2 rejected", "sslyze: TLS 1.3 accepted",
        "sslyze: no TLS compression", "sslyze: no client-initiated renegotiation",
        "sslyze: server chain verifies against the home's CA",
        "no TLS 1.3 session ticket issued", "no session resumption",
        "handshake without a client certificate refused",
        "ALPN keylake/1 selected", "TLS 1.3 negotiated", "another ALPN protocol refused",
        "openssl s_client with a valid certificate answered (control)",
        "openssl s_client with a certificate from another CA refused",
        "openssl s_client with an expired certificate refused",
        "openssl s_client with a certificate without a URI SAN refused",
    ]

    @Test("kmsd and fhird offer TLS 1.3 only, no compression, renegotiation or resumption, ALPN keylake/1 only, and refuse bad client certificates")
    func scan() async throws {
        try #require(PythonEnvironment.hasSSLyze, "CI is set but python3 cannot import sslyze; scripts/test must install it")
        try await withWorkspace { workspace in
            let home = workspace.path("home")
            let devUp = try workspace.startKeylake(["dev", "up", "--dir", home])
            try await devUp.waitForOutput(containing: "both daemons ready", timeout: .seconds(180))
            for target in ["kmsd", "fhird"] {
                let result = try await workspace.tlsScan(["--home", home, "--target", target])
                #expect(result.status == 0, "\(result.transcript)")
                #expect(result.standardOutput.contains("all checks passed"), "\(result.transcript)")
                for check in Self.checks {
                    #expect(result.standardOutput.contains("check \(check): ok"), "\(target): \(check)\n\(result.transcript)")
                }
            }
            devUp.terminate()
            #expect(await devUp.waitForExit(timeout: .seconds(120)) == 0, "\(devUp.transcript)")
        }
    }
}

import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Testing

/// Tests/Interop/health_client.py — a client written from docs/protocol.md in Python, sharing no
/// code with the Swift implementation — against real daemons started by `keylake dev up`.
@Suite(
    "Python interop client", .timeLimit(.minutes(10)),
    .enabled(
        if: PythonEnvironment.runInterop,
        "needs python3 with the protobuf package (pip install protobuf); scripts/test installs it"))
struct InteropTests {
    static let auditor = "arn:aws:iam::111122223333:role/Auditor"
    static let app = "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"

    /// Runs the Python client with a deadline for its whole exchange (its default is 10 s) and a
    /// limit for the process that only a hang reaches: a loaded machine is slow, not wrong.
    static func client(_ workspace: Workspace, _ arguments: [String]) async throws -> CompletedProcess {
        try await workspace.interopClient(arguments + ["--timeout", "60"], timeout: .seconds(120))
    }

    @Test("speaks the protocol to kmsd and fhird, gets GOAWAY PROTOCOL_ERROR for a bad magic, and kmsd still serves Swift")
    func againstRealDaemons() async throws {
        try #require(
            PythonEnvironment.hasProtobuf, "CI is set but python3 cannot import the protobuf package; scripts/test must install it")
        try await withWorkspace { workspace in
            let home = workspace.path("home")
            let devUp = try workspace.startKeylake(["dev", "up", "--dir", home, "--principal", Self.auditor])
            try await devUp.waitForOutput(containing: "both daemons ready", timeout: .seconds(180))
            let kmsdPort = try configuredPort("\(home)/kmsd.json")

            // Health/Check and WhoAmI, pipelined on one connection, with message classes compiled
            // from proto/ (protoc) and from the client's own built-in copy.
            for schema in ["auto", "builtin"] {
                let result = try await Self.client(workspace, [
                    "--home", home, "--as", "auditor", "--schema", schema, "--expect-principal", Self.auditor,
                ])
                #expect(result.status == 0, "\(result.transcript)")
                #expect(keyValue("status", in: result.standardOutput) == "SERVING", "\(result.transcript)")
                #expect(keyValue("principal", in: result.standardOutput) == Self.auditor, "\(result.transcript)")
                #expect(keyValue("server", in: result.standardOutput) == "kmsd", "\(result.transcript)")
                #expect(keyValue("tls", in: result.standardOutput) == "TLSv1.3 alpn=keylake/1", "\(result.transcript)")
            }
            let fhird = try await Self.client(workspace, ["--home", home, "--target", "fhird", "--as", "app"])
            #expect(fhird.status == 0, "\(fhird.transcript)")
            #expect(keyValue("status", in: fhird.standardOutput) == "SERVING", "\(fhird.transcript)")
            #expect(keyValue("principal", in: fhird.standardOutput) == Self.app, "\(fhird.transcript)")
            #expect(keyValue("server", in: fhird.standardOutput) == "fhird", "\(fhird.transcript)")

            // A HELLO with the wrong magic: GOAWAY PROTOCOL_ERROR, then the server closes.
            let badMagic = try await Self.client(workspace, ["--home", home, "--bad-magic"])
            #expect(badMagic.status == 0, "\(badMagic.transcript)")
            #expect(badMagic.standardOutput.contains("goaway=PROTOCOL_ERROR"), "\(badMagic.transcript)")
            #expect(keyValue("closed", in: badMagic.standardOutput) == "yes", "\(badMagic.transcript)")

            // A client certificate from another CA is refused during or right after the handshake.
            let stranger = try await workspace.keylake(["dev", "certs", "--out", workspace.path("other-ca")])
            try #require(stranger.status == 0, "\(stranger.transcript)")
            let refused = try await Self.client(workspace, [
                "--port", "\(kmsdPort)", "--cert", workspace.path("other-ca/app.pem"),
                "--key", workspace.path("other-ca/app-key.pem"), "--ca", "\(home)/pki/ca.pem",
            ])
            #expect(refused.status == 1, "\(refused.transcript)")
            #expect(refused.standardError.contains("health_client: error:"), "\(refused.transcript)")
            #expect(keyValue("principal", in: refused.standardOutput) == nil, "\(refused.transcript)")

            // kmsd is unharmed: a Swift client still gets answers.
            let files = TLSFiles(
                certificateChain: "\(home)/pki/app.pem", privateKey: "\(home)/pki/app-key.pem",
                trustRoots: "\(home)/pki/ca.pem")
            let transport = try KeylakeClientTransport(configuration: .init(host: "127.0.0.1", port: kmsdPort, tls: files))
            let (status, principal) = try await withGRPCClient(transport: transport) { client in
                var options = CallOptions.defaults
                options.timeout = .seconds(120)  // against a hang only
                let health = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: options)
                let whoAmI = try await Keylake_Diagnostics_V1_Diagnostics.Client(wrapping: client).whoAmI(.init(), options: options)
                return (health.status, whoAmI.principal)
            }
            #expect(status == .serving)
            #expect(principal == Self.app)

            devUp.terminate()
            #expect(await devUp.waitForExit(timeout: .seconds(120)) == 0, "\(devUp.transcript)")
        }
    }

    @Test(
        "the client's built-in copy of the messages it uses matches proto/ exactly",
        .enabled(if: PythonEnvironment.runSchemaCheck, "needs protoc (protobuf-compiler); scripts/test installs it"))
    func builtinSchemaMatchesProto() async throws {
        try #require(
            PythonEnvironment.hasProtobuf, "CI is set but python3 cannot import the protobuf package; scripts/test must install it")
        try #require(PythonEnvironment.hasProtoc, "CI is set but protoc is missing; scripts/test must install protobuf-compiler")
        try await withWorkspace { workspace in
            let result = try await workspace.interopClient(["--check-schema"], timeout: .seconds(180))
            #expect(result.status == 0, "\(result.transcript)")
            #expect(result.standardOutput.hasPrefix("schema=ok"), "\(result.transcript)")
        }
    }
}

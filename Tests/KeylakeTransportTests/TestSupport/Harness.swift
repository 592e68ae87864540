import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Logging
import NIOCore

/// Runs a real server (TLS on loopback, port chosen by the OS) around `body`, then shuts it down.
func withTestServer<T: Sendable>(
    pki: TestPKI,
    port: Int = 0,
    limits: ServerLimits = ServerLimits(),
    services: [any RegistrableRPCService],
    _ body: @Sendable (_ port: Int, _ server: GRPCServer<KeylakeServerTransport>) async throws -> T
) async throws -> T {
    var logger = Logger(label: "test.server")
    logger.logLevel = .critical
    let transport = KeylakeServerTransport(
        configuration: .init(host: "127.0.0.1", port: port, tls: try pki.files("kmsd"), limits: limits, logger: logger))
    let server = GRPCServer(transport: transport, services: services)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await server.serve()
            return nil
        }
        let port = try await transport.listeningAddress().port!
        let result: T
        do {
            result = try await body(port, server)
        } catch {
            server.beginGracefulShutdown()
            group.cancelAll()
            throw error
        }
        server.beginGracefulShutdown()
        try await group.waitForAll()
        return result
    }
}

/// Runs `body` with a GRPC client whose connections use `files`.
func withTestClient<T: Sendable>(
    port: Int,
    files: TLSFiles,
    settings: ClientSettings = ClientSettings(),
    _ body: @Sendable (Keylake_Diagnostics_V1_Diagnostics.Client<KeylakeClientTransport>, GRPCClient<KeylakeClientTransport>) async throws -> T
) async throws -> T {
    var logger = Logger(label: "test.client")
    logger.logLevel = .critical
    let transport = try KeylakeClientTransport(
        configuration: .init(host: "127.0.0.1", port: port, tls: files, settings: settings, logger: logger))
    return try await withGRPCClient(transport: transport) { client in
        try await body(Keylake_Diagnostics_V1_Diagnostics.Client(wrapping: client), client)
    }
}

extension CallOptions {
    static func timeout(_ duration: Duration) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = duration
        return options
    }
}

/// Polls `condition` until it holds or `timeout` passes (by default long enough that only a
/// hang, not a loaded machine, runs it out).
func eventually(timeout: Duration = .seconds(60), _ condition: () -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

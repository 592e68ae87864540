public import GRPCCore
public import KeylakeTransport
public import Logging
public import ServiceLifecycle

/// A daemon's RPC server as a swift-service-lifecycle `Service`: serves until graceful shutdown
/// (SIGTERM/SIGINT through the `ServiceGroup`), then marks itself not serving, stops accepting,
/// and drains in-flight calls within the transport's grace period.
public struct RPCServerService: Service {
    private let transport: KeylakeServerTransport
    private let services: [any RegistrableRPCService]
    private let health: HealthService
    private let onListening: @Sendable (String) -> Void
    private let logger: Logger

    /// - Parameters:
    ///   - services: the daemon's own services; health and diagnostics are added.
    ///   - onListening: called once with the bound address ("host:port"), e.g. to print readiness.
    public init(
        name: String,
        transport: KeylakeServerTransport,
        services: [any RegistrableRPCService],
        health: HealthService = HealthService(),
        logger: Logger,
        onListening: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.transport = transport
        self.services = services + [health, DiagnosticsService(serverName: name)]
        self.health = health
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let server = GRPCServer(transport: self.transport, services: self.services)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                let address = try await self.transport.listeningAddress()
                self.onListening(address.hostAndPort)
            }
        } onGracefulShutdown: {
            self.logger.info("graceful shutdown: draining calls")
            self.health.markAllNotServing()
            server.beginGracefulShutdown()
        }
    }
}

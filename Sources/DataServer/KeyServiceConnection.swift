public import GRPCCore
public import KeylakeTransport
public import ServiceLifecycle

/// The connections of fhird's key-service client as a `Service`: `GRPCClient` needs
/// `runConnections()` running for its calls to go anywhere; graceful shutdown stops it.
public struct KeyServiceConnection: Service {
    /// The client whose connections this runs.
    public let client: GRPCClient<KeylakeClientTransport>

    /// Wraps a client.
    public init(client: GRPCClient<KeylakeClientTransport>) {
        self.client = client
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.client.runConnections()
        } onGracefulShutdown: {
            self.client.beginGracefulShutdown()
        }
    }
}

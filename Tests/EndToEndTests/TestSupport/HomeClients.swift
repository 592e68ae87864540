import GRPCCore
import KeylakeTransport

/// Runs `body` with a client on its own connection to 127.0.0.1:`port`, presenting the
/// certificate of `identity` from HOME/pki.
func withHomeClient<T: Sendable>(
    home: String, port: Int, as identity: String, _ body: (GRPCClient<KeylakeClientTransport>) async throws -> T
) async throws -> T {
    let files = TLSFiles(
        certificateChain: "\(home)/pki/\(identity).pem", privateKey: "\(home)/pki/\(identity)-key.pem",
        trustRoots: "\(home)/pki/ca.pem")
    let transport = try KeylakeClientTransport(configuration: .init(host: "127.0.0.1", port: port, tls: files))
    return try await withGRPCClient(transport: transport) { client in try await body(client) }
}

/// Runs `body` with `count` clients of `identity`, each on its own connection.
func withHomeClients<T: Sendable>(
    _ count: Int, home: String, port: Int, as identity: String, _ body: ([GRPCClient<KeylakeClientTransport>]) async throws -> T
) async throws -> T {
    guard count > 0 else { return try await body([]) }
    return try await withHomeClient(home: home, port: port, as: identity) { first in
        try await withHomeClients(count - 1, home: home, port: port, as: identity) { rest in
            try await body([first] + rest)
        }
    }
}

import ArgumentParser
import Foundation
import KeylakeRPC
import GRPCCore
import KeylakeTransport
import Logging

/// `--home DIR` / `KEYLAKE_HOME` and `--as NAME`: which daemons to talk to, and as whom.
struct HomeOptions: ParsableArguments {
    @Option(name: .long, help: "Keylake home directory (default: $KEYLAKE_HOME).")
    var home: String?

    @Option(name: .customLong("as"), help: "Identity of the home to act as (default: admin).")
    var identity: String = "admin"

    func openHome() throws -> DevHome {
        guard let directory = self.home ?? ProcessInfo.processInfo.environment["KEYLAKE_HOME"], !directory.isEmpty else {
            throw CLIError("no home: pass --home DIR or set KEYLAKE_HOME (start one with `keylake dev up --dir DIR`)")
        }
        return try DevHome.open(at: directory)
    }

    /// Runs `body` with a GRPC client connected to `kind` as the chosen identity.
    func withClient<T: Sendable>(
        _ kind: DaemonKind, _ body: (GRPCClient<KeylakeClientTransport>) async throws -> T
    ) async throws -> T {
        let home = try self.openHome()
        let configuration = try home.configuration(kind)
        var logger = Logger(label: "keylake.cli")
        logger.logLevel = .error
        let transport = try KeylakeClientTransport(
            configuration: .init(
                host: configuration.listen.host, port: configuration.listen.port,
                tls: try home.clientFiles(identity: self.identity), logger: logger))
        return try await withGRPCClient(transport: transport) { client in
            try await body(client)
        }
    }
}

extension CallOptions {
    /// The CLI's default: every call has a deadline.
    static var cli: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(10)
        return options
    }
}

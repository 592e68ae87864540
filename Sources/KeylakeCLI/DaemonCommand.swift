import ArgumentParser
import Foundation
import UnixSignals
import GRPCCore
import KeylakeRPC
import KeylakeTransport
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Which daemon a process runs.
public enum DaemonKind: String, ExpressibleByArgument, CaseIterable, Sendable {
    case kmsd
    case fhird

    /// The daemon's own RPC services, beyond health and diagnostics.
    func services() -> [any RegistrableRPCService] {
        switch self {
        case .kmsd: []
        case .fhird: []
        }
    }
}

/// Options shared by `kmsd`, `fhird` and `keylake daemon`.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: "JSON configuration file (see docs/operations.md).")
    var config: String

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Flag(name: .long, help: .hidden)
    var exitWithParent = false
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Runs a daemon in the foreground until SIGTERM or SIGINT, then shuts down gracefully.
///
/// Prints one line "`<name>` ready on `<host:port>`" to standard output once it accepts calls;
/// `keylake dev up` and the tests wait for that line.
enum DaemonRunner {
    static func run(_ kind: DaemonKind, options: DaemonOptions) async throws {
        let level = options.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "keylake.\(kind.rawValue)")
        let configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration.load(from: options.config)
        } catch {
            throw CLIError("\(error)")
        }
        let transport = KeylakeServerTransport(
            configuration: .init(
                host: configuration.listen.host, port: configuration.listen.port,
                tls: configuration.tlsFiles, limits: configuration.serverLimits, logger: logger))
        let server = RPCServerService(
            name: kind.rawValue, transport: transport, services: kind.services(), logger: logger
        ) { address in
            print("\(kind.rawValue) ready on \(address)")
            fflush(nil)
        }
        var services = [ServiceGroupConfiguration.ServiceConfiguration(service: server)]
        if options.exitWithParent {
            services.append(.init(service: ParentWatch(), successTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

/// `kmsd` / `fhird`: the daemon executables' command line.
public struct DaemonCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(abstract: "Run a Keylake daemon in the foreground.")

    @Argument(help: "Which daemon: kmsd or fhird.")
    var kind: DaemonKind

    @OptionGroup var options: DaemonOptions

    public init() {}

    public func run() async throws {
        try await DaemonRunner.run(self.kind, options: self.options)
    }

    /// Entry point of a thin daemon executable: `kmsd --config FILE` runs `DaemonCommand kmsd --config FILE`.
    public static func main(as kind: DaemonKind) async {
        await Self.main([kind.rawValue] + CommandLine.arguments.dropFirst())
    }
}

/// Shuts the daemon down gracefully when its standard input reaches end of file, which happens
/// when the parent that started it (`keylake dev up`) dies, even by SIGKILL: no orphaned
/// daemons holding the home's ports.
struct ParentWatch: Service {
    func run() async throws {
        let stdin = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .takingOwnershipOfDescriptor(input: 0).get()
        try await cancelWhenGracefulShutdown {
            // A future's `get()` ignores cancellation: closing the pipe is what ends the wait.
            try await withTaskCancellationHandler {
                try await stdin.closeFuture.get()
            } onCancel: {
                stdin.close(promise: nil)
            }
        }
    }
}

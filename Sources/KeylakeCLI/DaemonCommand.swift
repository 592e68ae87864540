import ArgumentParser
import DataServer
import Foundation
import UnixSignals
import GRPCCore
import KMS
import KMSServer
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
}

/// What a daemon serves beyond health and diagnostics, and the background services it runs.
struct DaemonParts {
    var rpcServices: [any RegistrableRPCService] = []
    var backgroundServices: [any Service] = []

    /// Builds the daemon's parts from its configuration file.
    ///
    /// - Throws: `CLIError` naming the file or setting that is wrong.
    static func make(_ kind: DaemonKind, configPath: String, configuration: DaemonConfiguration, logger: Logger) throws -> DaemonParts {
        switch kind {
        case .kmsd:
            let section = try KMSDaemonFile.load(from: configPath)
            guard let dataDirectory = configuration.dataDirectory else {
                throw CLIError("\(configPath): kmsd needs a dataDirectory")
            }
            do {
                try FileManager.default.createDirectory(
                    atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let rootKey = try RootKey.load(from: section.rootKeyFile)
                let identity = try KeyServiceIdentity(region: section.region, accountID: section.accountId)
                let keys = try KeyService(
                    path: "\(dataDirectory)/kms.sqlite", rootKey: rootKey,
                    configuration: KeyServiceConfiguration(
                        identity: identity, servicePrincipals: Set(section.servicePrincipals),
                        onBehalfOfOperationsByService: try section.onBehalfOfOperationsByService()),
                    logger: logger)
                let interval = section.maintenanceIntervalSeconds ?? KMSServerConfiguration.defaultMaintenanceInterval
                return DaemonParts(
                    rpcServices: [KeyManagementServiceHandler(keys: keys)],
                    backgroundServices: [KeyMaintenanceService(keys: keys, interval: .seconds(interval), logger: logger)])
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError("kmsd cannot start: \(error)")
            }
        case .fhird:
            let section = try FHIRDaemonFile.load(from: configPath)
            guard let dataDirectory = configuration.dataDirectory else {
                throw CLIError("\(configPath): fhird needs a dataDirectory")
            }
            do {
                try FileManager.default.createDirectory(
                    atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let policy = try AccessPolicy.load(from: section.accessPolicyFile)
                let clientFiles = section.client.map {
                    TLSFiles(certificateChain: $0.certificate, privateKey: $0.privateKey, trustRoots: $0.trustRoots)
                } ?? configuration.tlsFiles
                // kmsd may start after fhird or restart: calls wait for it, bounded by their deadline.
                var linkSettings = ClientSettings()
                linkSettings.waitForReady = true
                let transport = try KeylakeClientTransport(
                    configuration: .init(
                        host: section.kmsd.host, port: section.kmsd.port, serverHostname: section.kmsd.serverHostname ?? "localhost",
                        tls: clientFiles, settings: linkSettings, logger: logger))
                let client = GRPCClient(transport: transport)
                let keyService = KeyServiceClient(
                    wrapping: client,
                    callTimeout: .milliseconds(section.kmsCallTimeoutMilliseconds ?? FHIRServerConfiguration.defaultKMSCallTimeoutMilliseconds))
                let service = try FHIRService(
                    databasePath: "\(dataDirectory)/fhir.sqlite", keyService: keyService, settings: section.settings, logger: logger)
                return DaemonParts(
                    rpcServices: [HealthLakeServiceHandler(service: service, policy: policy)],
                    backgroundServices: [KeyServiceConnection(client: client)])
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError("fhird cannot start: \(error)")
            }
        }
    }
}

/// The `kms` section of kmsd's configuration file, read beside the common `DaemonConfiguration`.
struct KMSDaemonFile: Codable {
    var kms: KMSServerConfiguration

    /// Reads the section, resolving `rootKeyFile` against the file's directory.
    static func load(from path: String) throws -> KMSServerConfiguration {
        let file: KMSDaemonFile
        do {
            let data = Data(try InputFile.read(path, what: "configuration file", maximumBytes: DaemonConfiguration.maximumFileBytes))
            file = try JSONDecoder().decode(KMSDaemonFile.self, from: data)
        } catch let error as InputFile.Failure {
            throw CLIError("\(error)")
        } catch {
            throw CLIError("\(path): the \"kms\" section is missing or invalid: \(ConfigurationErrorText.describe(error))")
        }
        var section = file.kms
        if !section.rootKeyFile.hasPrefix("/") {
            section.rootKeyFile = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(section.rootKeyFile).path
        }
        return section
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
        // Read the TLS files now, so a missing or unreadable file stops the daemon with its path
        // before anything else is opened.
        do {
            _ = try configuration.tlsFiles.serverConfiguration()
        } catch {
            throw CLIError("\(error)")
        }
        let transport = KeylakeServerTransport(
            configuration: .init(
                host: configuration.listen.host, port: configuration.listen.port,
                tls: configuration.tlsFiles, limits: configuration.serverLimits, logger: logger))
        let parts = try DaemonParts.make(kind, configPath: options.config, configuration: configuration, logger: logger)
        let server = RPCServerService(
            name: kind.rawValue, transport: transport, services: parts.rpcServices, logger: logger
        ) { address in
            print("\(kind.rawValue) ready on \(address)")
            fflush(nil)
        }
        // A service group shuts down in reverse order: the server is last in the list so it drains
        // its calls first, while the services those calls need (a kmsd client) are still running.
        var services = parts.backgroundServices.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        services.append(ServiceGroupConfiguration.ServiceConfiguration(service: server))
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

    /// Entry point of a thin daemon executable: `fhird --config FILE` runs `DaemonCommand fhird --config FILE`.
    public static func main(as kind: DaemonKind) async {
        await CommandLineEntry.main(Self.self, arguments: [kind.rawValue] + CommandLine.arguments.dropFirst())
    }
}

/// The `kmsd` executable: `kmsd --config FILE` runs the daemon; `kmsd init --root-key FILE` makes
/// a root key.
public struct KMSDCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "kmsd", abstract: "The Keylake key service.",
        subcommands: [Run.self, Init.self, RotateRootKey.self], defaultSubcommand: Run.self)

    public init() {}

    /// Entry point of the `kmsd` executable.
    public static func runFromCommandLine() async {
        await CommandLineEntry.main(Self.self)
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Run kmsd in the foreground.")
        @OptionGroup var options: DaemonOptions
        func run() async throws {
            try await DaemonRunner.run(.kmsd, options: self.options)
        }
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init", abstract: "Create a root key file (32 random bytes, mode 0600); never overwrites one.")
        @Option(name: .long, help: "Where to write the root key.")
        var rootKey: String
        func run() async throws {
            do {
                try RootKey.create(at: self.rootKey)
            } catch {
                throw CLIError("\(error)")
            }
            print("root key written to \(self.rootKey) (mode 0600); back it up: without it no key can be recovered")
        }
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

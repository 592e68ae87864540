import ArgumentParser
import GRPCCore
import KeylakeProto

/// The `keylake` command line.
public struct KeylakeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "keylake",
        abstract: "Keylake: FHIR data encrypted at rest under keys its owner controls.",
        subcommands: [
            DevCommand.self, DemoCommand.self, KMSCommand.self, AuditCommand.self, HealthCommand.self, WhoAmICommand.self, BenchCommand.self,
            DaemonSubcommand.self,
            HealthLakeCommand.self, FHIRCommand.self,
            ChaosCommand.self,
        ])

    public init() {}

    /// Entry point of the `keylake` executable.
    public static func runFromCommandLine() async {
        await CommandLineEntry.main(Self.self)
    }
}

/// `keylake daemon kmsd|fhird --config FILE`: what `kmsd`/`fhird` run; used by `keylake dev up`.
struct DaemonSubcommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon", abstract: "Run kmsd or fhird in the foreground (same as the kmsd/fhird executables).")

    @Argument(help: "kmsd or fhird.")
    var kind: DaemonKind

    @OptionGroup var options: DaemonOptions

    func run() async throws {
        try await DaemonRunner.run(self.kind, options: self.options)
    }
}

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Check that the daemons of a home are serving (grpc.health.v1).")

    @OptionGroup var home: HomeOptions

    @Option(name: .long, help: "kmsd, fhird, or both when omitted.")
    var target: DaemonKind?

    func run() async throws {
        var failed = false
        for kind in self.target.map({ [$0] }) ?? DaemonKind.allCases {
            do {
                let status = try await self.home.withClient(kind) { client in
                    try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: .cli).status
                }
                print("\(kind.rawValue): \(status)")
                failed = failed || status != .serving
            } catch let error as RPCError {
                print("\(kind.rawValue): unreachable (\(error.code): \(error.message))")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct WhoAmICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami", abstract: "Show the principal a daemon sees for the chosen identity.")

    @OptionGroup var home: HomeOptions

    @Option(name: .long, help: "kmsd or fhird.")
    var target: DaemonKind = .kmsd

    func run() async throws {
        let response = try await self.home.withClient(self.target) { client in
            try await Keylake_Diagnostics_V1_Diagnostics.Client(wrapping: client).whoAmI(.init(), options: .cli)
        }
        print("principal:  \(response.principal)")
        print("server:     \(response.server)")
        print("request id: \(response.requestID)")
    }
}

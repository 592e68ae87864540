import Foundation
import KeylakeFaultProxy
import KeylakeRPC
import Logging

/// The daemons a chaos run targets: either started here as child processes in a temporary home
/// (managed mode: they can be killed and restarted, and fhird's link to kmsd can go through an
/// in-process fault proxy), or already running, found through a home's configuration (`--home`).
actor ChaosDeployment {
    /// The home whose addresses and client identities the run uses.
    nonisolated let home: DevHome
    /// Whether the daemons are children of this process.
    nonisolated let managed: Bool
    /// The fault proxy between fhird and kmsd (link scenarios only).
    nonisolated let proxy: FaultProxy?
    private var daemons: [DaemonKind: ChildDaemon] = [:]
    private let logLevel: String

    private init(home: DevHome, managed: Bool, proxy: FaultProxy?, logLevel: String) {
        self.home = home
        self.managed = managed
        self.proxy = proxy
        self.logLevel = logLevel
    }

    /// Targets the running daemons of the home at `directory`.
    static func targeting(directory: String) throws -> ChaosDeployment {
        ChaosDeployment(home: try DevHome.open(at: directory), managed: false, proxy: nil, logLevel: "error")
    }

    /// Makes (or reopens) a home at `directory` and starts kmsd, then — with `linkProxy`, behind a
    /// fault proxy in front of kmsd — fhird, whose kmsd calls get `kmsCallTimeoutMilliseconds`.
    static func managed(
        directory: String, linkProxy: Bool, kmsCallTimeoutMilliseconds: Int, logLevel: String
    ) async throws -> ChaosDeployment {
        let isNew = !DevHome.exists(at: directory)
        let home = try DevHome.openOrCreate(at: directory)
        var proxy: FaultProxy?
        var lastError: (any Error)?
        for attempt in 1...(isNew ? 3 : 1) {
            if attempt > 1 { try home.reassignPorts() }
            let kmsd = try home.configuration(.kmsd)
            var fhirdKMSPort = kmsd.listen.port
            if linkProxy {
                var logger = Logger(label: "keylake.chaos.proxy")
                logger.logLevel = .critical
                let made = FaultProxy(configuration: .init(upstreamHost: kmsd.listen.host, upstreamPort: kmsd.listen.port, logger: logger))
                fhirdKMSPort = try await made.start()
                proxy = made
            }
            try Self.editFHIRSection(home) { fhir in
                var address = fhir["kmsd"] as? [String: Any] ?? [:]
                address["port"] = fhirdKMSPort
                fhir["kmsd"] = address
                fhir["kmsCallTimeoutMilliseconds"] = kmsCallTimeoutMilliseconds
            }
            let deployment = ChaosDeployment(home: home, managed: true, proxy: proxy, logLevel: logLevel)
            do {
                try await deployment.start(.kmsd)
                try await deployment.start(.fhird)
                return deployment
            } catch {
                lastError = error
                await deployment.stop()
            }
        }
        throw lastError ?? CLIError("the daemons did not start")
    }

    /// Changes the `fhir` section of the home's fhird configuration.
    private static func editFHIRSection(_ home: DevHome, _ edit: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: home.configurationPath(.fhird))
        guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
            var fhir = object["fhir"] as? [String: Any]
        else {
            throw CLIError("\(url.path) has no \"fhir\" section")
        }
        edit(&fhir)
        object["fhir"] = fhir
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            .write(to: url, options: .atomic)
    }

    /// Starts `kind` as a child process of the home and waits until it is ready.
    func start(_ kind: DaemonKind) async throws {
        guard self.managed else { throw CLIError("cannot start \(kind.rawValue): the run targets a running deployment") }
        let daemon = try ChildDaemon(
            name: kind.rawValue, executable: ChildDaemon.currentExecutable,
            arguments: ["daemon", kind.rawValue, "--config", self.home.configurationPath(kind), "--exit-with-parent", "--log-level", self.logLevel],
            echo: false)
        self.daemons[kind] = daemon
        _ = try await daemon.waitUntilReady()
    }

    /// Kills `kind` with SIGKILL and waits until it is gone.
    func kill(_ kind: DaemonKind) async throws {
        guard let daemon = self.daemons[kind] else { throw CLIError("\(kind.rawValue) is not a child of this run") }
        daemon.kill()
        guard await daemon.waitForExit(timeout: .seconds(20)) != nil else {
            throw CLIError("\(kind.rawValue) (pid \(daemon.pid)) did not die on SIGKILL within 20 s")
        }
        self.daemons[kind] = nil
    }

    /// Stops every child daemon (SIGTERM, SIGKILL after 20 s) and the proxy.
    func stop() async {
        let running = Array(self.daemons.values)
        self.daemons = [:]
        for daemon in running { daemon.terminate() }
        for daemon in running where await daemon.waitForExit(timeout: .seconds(20)) == nil {
            daemon.kill()
            _ = await daemon.waitForExit(timeout: .seconds(5))
        }
        await self.proxy?.shutdown()
    }
}

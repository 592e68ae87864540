import ArgumentParser
import Foundation
import KMS
import KeylakeDevPKI

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev", abstract: "Development helpers: certificates and a local system.",
        subcommands: [DevCertsCommand.self, DevUpCommand.self])
}

struct DevCertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Make a development CA and certificates for kmsd, fhird, an admin and an application principal.")

    @Option(name: .long, help: "Directory to write into (created if missing).")
    var out: String

    @Option(name: .customLong("principal"), help: "A further principal (ARN) to make an identity for; repeatable.")
    var principals: [String] = []

    @Option(name: .long, help: "AWS account id for the admin and application ARNs.")
    var account: String = DevPKI.defaultAccount

    @Option(name: .long, help: "Validity of the certificates, in days.")
    var days: Int = 30

    func run() async throws {
        guard (1...825).contains(self.days) else { throw ValidationError("--days must be between 1 and 825") }
        let pki = try DevPKI.create(
            in: self.out, account: self.account, extraPrincipals: self.principals,
            validity: .seconds(self.days * 24 * 3600))
        let rootKey = "\(pki.directory)/kmsd-root.key"
        if !FileManager.default.fileExists(atPath: rootKey) {
            do { try RootKey.create(at: rootKey) } catch { throw CLIError("\(error)") }
        }
        print("CA: \(pki.caCertificatePath)")
        print("kmsd root key: \(rootKey) (0600)")
        for identity in pki.identities {
            print("\(identity.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(identity.principal)")
            print("           \(identity.certificatePath)  \(identity.privateKeyPath) (0600)")
        }
    }
}

struct DevUpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run kmsd and fhird in the foreground with a persistent development home.",
        discussion: "Running it again on the same directory keeps all data. Ctrl-C or SIGTERM stops both daemons.")

    @Option(name: .long, help: "Home directory (created on first use).")
    var dir: String

    @Option(name: .customLong("principal"), help: "A further principal (ARN) to make an identity for; repeatable.")
    var principals: [String] = []

    func run() async throws {
        let isNewHome = !DevHome.exists(at: self.dir)
        let home = try DevHome.openOrCreate(at: self.dir, extraPrincipals: self.principals)
        let executable = ChildDaemon.currentExecutable
        // Signals are handled here, not by the default action, so both daemons are stopped.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let (signals, signalContinuation) = AsyncStream<Int32>.makeStream()
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { signalContinuation.yield(number) }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }

        var daemons: [ChildDaemon] = []
        do {
            let started = try await home.startDaemons(executable: executable, echo: true, choosePortsAgain: isNewHome)
            daemons = started.daemons
            let addresses = started.addresses
            print("""

                Keylake is running (home: \(home.directory))
                  kmsd   \(addresses[0])
                  fhird  \(addresses[1])
                Identities: \(home.pki.identities.map { "\($0.name) (\($0.principal))" }.joined(separator: ", "))

                Point the CLI at it from another terminal:
                  export KEYLAKE_HOME=\(home.directory)
                  keylake health
                  keylake whoami --as app
                Press Ctrl-C to stop.
                both daemons ready
                """)
            fflush(nil)
        } catch {
            daemons.forEach { $0.kill() }
            throw error
        }

        // Run until a signal arrives or a daemon dies.
        let reason: String = await withTaskGroup(of: String.self) { group in
            group.addTask {
                for await number in signals { return number == SIGINT ? "interrupt" : "SIGTERM" }
                return "signal stream ended"
            }
            for daemon in daemons {
                group.addTask {
                    let status = await daemon.waitForExit(timeout: .seconds(365 * 24 * 3600))
                    return "\(daemon.name) exited with status \(status.map(String.init) ?? "?")"
                }
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        print("stopping (\(reason))")
        daemons.forEach { $0.terminate() }
        for daemon in daemons where await daemon.waitForExit(timeout: .seconds(20)) == nil {
            daemon.kill()
        }
        print("stopped")
        if reason.contains("exited") { throw ExitCode(1) }
    }
}

import DataServer
import Foundation
import KMS
import KMSServer
import KeylakeDevPKI
import KeylakeRPC
import KeylakeTransport
import NIOCore
import NIOPosix

/// A development home: PKI, daemon configurations and data, all under one directory.
///
/// ```
/// DIR/pki/          CA, identities (kmsd, fhird, admin, app, …), identities.json
/// DIR/kmsd.json     kmsd configuration (port chosen free when the home was made)
/// DIR/fhird.json    fhird configuration
/// DIR/data/kmsd/    kmsd's stores
/// DIR/data/fhird/   fhird's stores
/// ```
/// Opening an existing home changes nothing in it, so data survives restarts.
struct DevHome {
    let directory: String
    let pki: DevPKI

    var pkiDirectory: String { "\(self.directory)/pki" }

    func configurationPath(_ kind: DaemonKind) -> String { "\(self.directory)/\(kind.rawValue).json" }

    /// kmsd's root key (0600), made when the home is made.
    var rootKeyPath: String { "\(self.directory)/kmsd-root.key" }

    /// The key-service settings of a development home: the dev PKI's account, the data service as
    /// the one registered service principal.
    static func kmsSection() -> KMSServerConfiguration {
        KMSServerConfiguration(
            region: "us-east-1", accountId: DevPKI.defaultAccount, rootKeyFile: "kmsd-root.key",
            servicePrincipals: [DevPKI.fhirdPrincipal])
    }

    /// Homes made before kmsd had a key store lack the `kms` section; add it, keeping the rest.
    private func addKMSSectionIfMissing() throws {
        let url = URL(fileURLWithPath: self.configurationPath(.kmsd))
        guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw CLIError("\(url.path) is not a JSON object")
        }
        guard object["kms"] == nil else { return }
        object["kms"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Self.kmsSection()))
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            .write(to: url, options: .atomic)
    }

    /// fhird's access policy in a development home: `admin` and `app` may do everything.
    var accessPolicyPath: String { "\(self.directory)/fhird-access-policy.json" }

    /// Homes made before fhird served FHIR lack the `fhir` section (kmsd's address from
    /// kmsd.json, the home's `fhird` identity as client, the access policy); add it, keeping the
    /// rest, and write the access policy file if it is missing.
    private func addFHIRSectionIfMissing() throws {
        if !FileManager.default.fileExists(atPath: self.accessPolicyPath) {
            let policy = AccessPolicy.allowingEverything(to: [DevPKI.adminPrincipal(), DevPKI.appPrincipal()])
            try policy.json().write(to: URL(fileURLWithPath: self.accessPolicyPath), options: .atomic)
        }
        let url = URL(fileURLWithPath: self.configurationPath(.fhird))
        guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw CLIError("\(url.path) is not a JSON object")
        }
        guard object["fhir"] == nil else { return }
        let kmsd = try self.configuration(.kmsd)
        let identity = try self.pki.requireIdentity(named: DaemonKind.fhird.rawValue)
        let section = FHIRServerConfiguration(
            region: "us-east-1", accountId: DevPKI.defaultAccount, servicePrincipal: DevPKI.fhirdPrincipal,
            kmsd: .init(host: kmsd.listen.host, port: kmsd.listen.port),
            client: .init(
                certificate: Self.relative(identity.certificatePath, to: self.directory),
                privateKey: Self.relative(identity.privateKeyPath, to: self.directory),
                trustRoots: Self.relative(self.pki.caCertificatePath, to: self.directory)),
            accessPolicyFile: Self.relative(self.accessPolicyPath, to: self.directory))
        object["fhir"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(section))
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            .write(to: url, options: .atomic)
    }

    /// Opens the home at `directory`, creating what is missing.
    /// Gives both daemons new free ports (and fhird's link to kmsd the new kmsd port), keeping
    /// everything else. For a home whose daemons could not bind: another process took a port
    /// between the moment it was chosen and the moment the daemon started.
    func reassignPorts() throws {
        let kmsdPort = try Self.freePort()
        var fhirdPort = try Self.freePort()
        while fhirdPort == kmsdPort { fhirdPort = try Self.freePort() }
        try Self.editJSON(self.configurationPath(.kmsd)) { object in
            var listen = object["listen"] as? [String: Any] ?? [:]
            listen["port"] = kmsdPort
            object["listen"] = listen
        }
        try Self.editJSON(self.configurationPath(.fhird)) { object in
            var listen = object["listen"] as? [String: Any] ?? [:]
            listen["port"] = fhirdPort
            object["listen"] = listen
            if var fhir = object["fhir"] as? [String: Any], var kmsd = fhir["kmsd"] as? [String: Any] {
                kmsd["port"] = kmsdPort
                fhir["kmsd"] = kmsd
                object["fhir"] = fhir
            }
        }
    }

    private static func editJSON(_ path: String, _ edit: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: path)
        guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw CLIError("\(path) is not a JSON object")
        }
        edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            .write(to: url, options: .atomic)
    }

    /// Starts kmsd, waits until it is ready, then fhird (whose first calls need kmsd); returns the
    /// running daemons and their addresses, in that order.
    ///
    /// A home made just now (`choosePortsAgain`) may find a port taken by another process since it
    /// was chosen: then both daemons are stopped, the ports chosen again and the start retried, up
    /// to three times. An existing home keeps its ports, so its start is not retried.
    func startDaemons(
        executable: String, extraArguments: [String] = [], echo: Bool, choosePortsAgain: Bool
    ) async throws -> (daemons: [ChildDaemon], addresses: [String]) {
        let attempts = choosePortsAgain ? 3 : 1
        var lastError: (any Error)?
        for attempt in 1...attempts {
            if attempt > 1 { try self.reassignPorts() }
            var daemons: [ChildDaemon] = []
            var addresses: [String] = []
            do {
                for kind in DaemonKind.allCases {
                    let daemon = try ChildDaemon(
                        name: kind.rawValue, executable: executable,
                        arguments: ["daemon", kind.rawValue, "--config", self.configurationPath(kind), "--exit-with-parent"]
                            + extraArguments,
                        echo: echo)
                    daemons.append(daemon)
                    addresses.append(try await daemon.waitUntilReady())
                }
                return (daemons, addresses)
            } catch {
                lastError = error
                for daemon in daemons { daemon.terminate() }
                for daemon in daemons where await daemon.waitForExit(timeout: .seconds(10)) == nil { daemon.kill() }
            }
        }
        throw lastError ?? CLIError("the daemons did not start")
    }

    /// Whether `directory` already holds a home (then its ports are kept, whatever happens).
    static func exists(at directory: String) -> Bool {
        FileManager.default.fileExists(atPath: URL(fileURLWithPath: directory).standardizedFileURL.path + "/kmsd.json")
    }

    static func openOrCreate(at directory: String, extraPrincipals: [String] = []) throws -> DevHome {
        let directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let pkiDirectory = "\(directory)/pki"
        var pki: DevPKI
        if FileManager.default.fileExists(atPath: "\(pkiDirectory)/\(DevPKI.identitiesFileName)") {
            pki = try DevPKI.load(from: pkiDirectory)
            if !extraPrincipals.isEmpty {
                pki = try DevPKI.addPrincipals(extraPrincipals, in: pkiDirectory)
            }
        } else {
            pki = try DevPKI.create(in: pkiDirectory, extraPrincipals: extraPrincipals)
        }
        let home = DevHome(directory: directory, pki: pki)
        if !FileManager.default.fileExists(atPath: home.rootKeyPath) {
            try RootKey.create(at: home.rootKeyPath)
        }
        for kind in DaemonKind.allCases where !FileManager.default.fileExists(atPath: home.configurationPath(kind)) {
            try home.writeConfiguration(kind)
        }
        try home.addKMSSectionIfMissing()
        try home.addFHIRSectionIfMissing()
        return home
    }

    /// Opens an existing home.
    ///
    /// - Throws: `CLIError` when `directory` holds no home.
    static func open(at directory: String) throws -> DevHome {
        let directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: "\(directory)/kmsd.json") else {
            throw CLIError("\(directory) is not a Keylake home (no kmsd.json); create one with `keylake dev up --dir \(directory)`")
        }
        return DevHome(directory: directory, pki: try DevPKI.load(from: "\(directory)/pki"))
    }

    func configuration(_ kind: DaemonKind) throws -> DaemonConfiguration {
        try DaemonConfiguration.load(from: self.configurationPath(kind))
    }

    /// TLS files for a client identity of this home.
    func clientFiles(identity name: String) throws -> TLSFiles {
        guard let identity = self.pki.identity(named: name) else {
            let names = self.pki.identities.map(\.name).joined(separator: ", ")
            throw CLIError("no identity named \"\(name)\" in this home; known: \(names)")
        }
        return TLSFiles(
            certificateChain: identity.certificatePath, privateKey: identity.privateKeyPath,
            trustRoots: self.pki.caCertificatePath)
    }

    private func writeConfiguration(_ kind: DaemonKind) throws {
        let identity = try self.pki.requireIdentity(named: kind.rawValue)
        let configuration = DaemonConfiguration(
            listen: .init(host: "127.0.0.1", port: try Self.freePort()),
            tls: .init(
                certificate: Self.relative(identity.certificatePath, to: self.directory),
                privateKey: Self.relative(identity.privateKeyPath, to: self.directory),
                trustRoots: Self.relative(self.pki.caCertificatePath, to: self.directory)),
            dataDirectory: "data/\(kind.rawValue)")
        try FileManager.default.createDirectory(
            atPath: "\(self.directory)/data/\(kind.rawValue)", withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(configuration).write(to: URL(fileURLWithPath: self.configurationPath(kind)), options: .atomic)
    }

    private static func relative(_ path: String, to base: String) -> String {
        path.hasPrefix(base + "/") ? String(path.dropFirst(base.count + 1)) : path
    }

    /// Lowest and highest port a home's daemons are given: below Linux's ephemeral range
    /// (32768–60999), so an outgoing connection cannot be holding the port on a later start.
    static let homePortRange = 20000...32767

    /// A TCP port on 127.0.0.1 in ``homePortRange`` that was free a moment ago.
    ///
    /// - Throws: `CLIError` when 200 random tries found none.
    static func freePort() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: Self.homePortRange)
            if let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: candidate).wait()
            {
                try? channel.close().wait()
                return candidate
            }
        }
        throw CLIError("no free port found in \(Self.homePortRange) on 127.0.0.1")
    }
}

/// A CLI failure with a message for people; exits non-zero.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

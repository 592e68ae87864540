import DataServer
import Foundation
import GRPCCore
import KMS
import KMSServer
import KeylakeDevPKI
import KeylakeProto
import KeylakeTransport
import Logging
import NIOCore
import SwiftProtobuf

typealias HealthLakeClient = Keylake_Healthlake_V1_HealthLakeService.Client<KeylakeClientTransport>
typealias KMSClient = Keylake_Kms_V1_KeyManagementService.Client<KeylakeClientTransport>

/// Principals of the run-time dev PKI.
enum Principals {
    static let admin = DevPKI.adminPrincipal()
    static let app = DevPKI.appPrincipal()
    static let service = DevPKI.fhirdPrincipal
}

/// An in-process kmsd (real `KeyService` behind the real handler on a Keylake server
/// transport) and fhird (``FHIRService`` behind ``HealthLakeServiceHandler`` on another), with
/// certificates made at run time; every call goes over real mutual TLS on loopback.
struct TestSystem: Sendable {
    /// fhird as `app` (the seed document's role).
    let app: HealthLakeClient
    /// kmsd as `admin` (the account root).
    let kmsAdmin: KMSClient
    /// fhird's data directory.
    let dataDirectory: String
}

private func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .critical
    return logger
}

/// Runs `body` against a fresh system; tears it down afterwards. `policy` is fhird's access
/// policy (default: everything for admin and app).
func withTestSystem(policy: AccessPolicy? = nil, _ body: @Sendable (TestSystem) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keylake-dataserver-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let pki = try DevPKI.create(in: "\(directory)/pki")
    func files(_ name: String) throws -> TLSFiles {
        let identity = try pki.requireIdentity(named: name)
        return TLSFiles(certificateChain: identity.certificatePath, privateKey: identity.privateKeyPath, trustRoots: pki.caCertificatePath)
    }
    func client(port: Int, as name: String) throws -> GRPCClient<KeylakeClientTransport> {
        GRPCClient(
            transport: try KeylakeClientTransport(
                configuration: .init(host: "127.0.0.1", port: port, tls: try files(name), logger: quietLogger("test.client"))))
    }
    let dataDirectory = "\(directory)/data/fhird"
    try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
    let keys = try KeyService(
        path: "\(directory)/kms.sqlite", rootKey: try RootKey(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) }),
        configuration: KeyServiceConfiguration(
            identity: try KeyServiceIdentity(region: "us-east-1", accountID: DevPKI.defaultAccount),
            servicePrincipals: [Principals.service]),
        logger: quietLogger("test.kms"))
    let kmsTransport = KeylakeServerTransport(
        configuration: .init(host: "127.0.0.1", port: 0, tls: try files("kmsd"), logger: quietLogger("test.kmsd")))
    let kmsServer = GRPCServer(transport: kmsTransport, services: [KeyManagementServiceHandler(keys: keys)])
    let fhirTransport = KeylakeServerTransport(
        configuration: .init(host: "127.0.0.1", port: 0, tls: try files("fhird"), logger: quietLogger("test.fhird")))

    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await kmsServer.serve() }
        let kmsPort = try await kmsTransport.listeningAddress().port!
        let fhirdToKMS = try client(port: kmsPort, as: "fhird")
        group.addTask { try await fhirdToKMS.runConnections() }
        let service = try FHIRService(
            databasePath: "\(dataDirectory)/fhir.sqlite", keyService: KeyServiceClient(wrapping: fhirdToKMS),
            logger: quietLogger("test.fhir"))
        let fhirServer = GRPCServer(
            transport: fhirTransport,
            services: [HealthLakeServiceHandler(service: service, policy: policy ?? .allowingEverything(to: [Principals.admin, Principals.app]))])
        group.addTask { try await fhirServer.serve() }
        let fhirPort = try await fhirTransport.listeningAddress().port!
        let app = try client(port: fhirPort, as: "app")
        let admin = try client(port: kmsPort, as: "admin")
        group.addTask { try await app.runConnections() }
        group.addTask { try await admin.runConnections() }
        func shutDown() {
            app.beginGracefulShutdown()
            admin.beginGracefulShutdown()
            fhirdToKMS.beginGracefulShutdown()
            fhirServer.beginGracefulShutdown()
            kmsServer.beginGracefulShutdown()
        }
        do {
            try await body(TestSystem(app: HealthLakeClient(wrapping: app), kmsAdmin: KMSClient(wrapping: admin), dataDirectory: dataDirectory))
        } catch {
            shutDown()
            group.cancelAll()
            throw error
        }
        shutDown()
        try await group.waitForAll()
    }
}

extension CallOptions {
    /// Every test call has a deadline; none of these tests is about deadlines, so it is long
    /// enough that only a hang trips it on a loaded CI machine.
    static var test: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(120)
        return options
    }

    /// For heavy calls (Bundles of hundreds of entries, each sealed through kmsd): one 500-entry
    /// transaction took more than 30 s on a loaded two-core machine.
    static var bulk: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(600)
        return options
    }
}

/// A failed call as a client sees it.
struct CallFailure: Error, Sendable, CustomStringConvertible {
    var code: RPCError.Code
    var name: String
    var message: String
    var outcome: String

    init(_ error: RPCError) {
        self.code = error.code
        self.name = error.metadata[stringValues: KeylakeMetadataKey.errorName].first(where: { _ in true }) ?? ""
        self.outcome = error.metadata[stringValues: HealthLakeMetadataKey.operationOutcome].first(where: { _ in true }) ?? ""
        self.message = error.message
    }

    var description: String { "\(self.code) \(self.name): \(self.message)" }
}

/// The failure of `body`, or nil when it succeeds.
func failure<T>(_ body: () async throws -> T) async throws -> CallFailure? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return CallFailure(error)
    }
}

/// Key policies.
enum Policies {
    static let rootStatement = #"""
        {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}
        """#

    /// The seed document's statement, verbatim.
    static let seedStatement = #"""
        {"Sid":"Allow access through Amazon HealthLake for all principals in the account that are authorized to use Amazon HealthLake","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:CreateGrant","kms:DescribeKey"],"Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"healthlake.amazonaws.com","kms:CallerAccount":"111122223333"}}}
        """#

    static var seedPolicy: String {
        #"{"Version":"2012-10-17","Id":"seed","Statement":["# + rootStatement + "," + seedStatement + "]}"
    }
}

/// The Synthea fixture copied into the test bundle.
enum Synthea {
    static func lines(_ type: String) throws -> [[UInt8]] {
        let url = Bundle.module.resourceURL!.appendingPathComponent("synthea-10/\(type).000.ndjson")
        return try Data(contentsOf: url).split(separator: UInt8(ascii: "\n")).map { Array($0) }.filter { !$0.isEmpty }
    }
}

extension TestSystem {
    /// Creates a CMK under the seed policy as admin; returns its ARN.
    func createSeedKey() async throws -> String {
        try await self.kmsAdmin.createKey(.with { $0.policy = Policies.seedPolicy; $0.description_p = "datastore CMK" }, options: .test)
            .keyMetadata.arn
    }

    /// Creates an ACTIVE datastore; returns its id.
    func createDatastore(name: String, cmk: String? = nil) async throws -> String {
        let response = try await self.app.createFHIRDatastore(
            .with {
                $0.datastoreName = name
                $0.datastoreTypeVersion = "R4"
                if let cmk {
                    $0.sseConfiguration = .with {
                        $0.kmsEncryptionConfig = .with { $0.cmkType = .customerManagedKmsKey; $0.kmsKeyID = cmk }
                    }
                }
            }, options: .test)
        return response.datastoreID
    }
}

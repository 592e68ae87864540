import ArgumentParser
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

/// `keylake bench kms`: one key-service operation over the real transport (TLS 1.3, loopback,
/// audit trail on, SQLite with `synchronous=FULL`) against the same operation called on the key
/// service in-process, in one run, so the ratio survives a noisy machine.
struct BenchKMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kms", abstract: "Measure a key-service operation over mTLS against the same call in-process.")

    enum Operation: String, ExpressibleByArgument, CaseIterable {
        case generateDataKey = "generate-data-key"
        case decrypt
        case encrypt
    }

    @Option(help: "generate-data-key, decrypt or encrypt.") var op: Operation = .generateDataKey
    @Option(help: "Client connections.") var connections: Int = 1
    @Option(help: "Calls in flight at once.") var concurrency: Int = 64
    @Option(help: "Seconds to measure, after warm-up.") var duration: Double = 10
    @Option(help: "Seconds of warm-up (not measured).") var warmup: Double = 2

    func validate() throws {
        guard self.connections >= 1, self.concurrency >= self.connections, self.duration > 0, self.warmup >= 0 else {
            throw ValidationError("need connections ≥ 1, concurrency ≥ connections, duration > 0, warm-up ≥ 0")
        }
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keylake-bench-kms-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pki = try DevPKI.create(in: "\(directory)/pki")
        let rootKey = try RootKey.create(at: "\(directory)/root.key")
        var logger = Logger(label: "keylake.bench")
        logger.logLevel = .error
        let keys = try KeyService(
            path: "\(directory)/kms.sqlite", rootKey: rootKey,
            configuration: KeyServiceConfiguration(
                identity: try KeyServiceIdentity(region: "us-east-1", accountID: DevPKI.defaultAccount),
                servicePrincipals: [DevPKI.fhirdPrincipal]),
            logger: logger)
        let admin = DevPKI.adminPrincipal()
        func caller() -> CallerContext { CallerContext(principal: admin, requestID: UUID().uuidString) }
        let key = try await keys.createKey(CreateKeyRequest(description: "bench"), caller: caller())
        let context = ["datastoreId": "bench", "resourceType": "Patient"]
        let plaintext = [UInt8](repeating: 0x42, count: 32)
        let blob = try await keys.encrypt(keyID: key.arn, plaintext: plaintext, encryptionContext: context, caller: caller()).ciphertextBlob
        let op = self.op

        // Baseline: the key service in-process (authorization, crypto, audit, group commit).
        let keyARN = key.arn
        let baseline = try await BenchRPCCommand.measure(workers: self.concurrency, warmup: self.warmup, duration: self.duration) { _ in
            let who = CallerContext(principal: admin, requestID: RequestIDs.next())
            switch op {
            case .generateDataKey:
                _ = try await keys.generateDataKey(keyID: keyARN, keySpec: .aes256, encryptionContext: context, caller: who)
            case .decrypt:
                _ = try await keys.decrypt(ciphertextBlob: blob, encryptionContext: context, caller: who)
            case .encrypt:
                _ = try await keys.encrypt(keyID: keyARN, plaintext: plaintext, encryptionContext: context, caller: who)
            }
        }

        // Over the transport, as the admin identity.
        let identity = try pki.requireIdentity(named: "admin")
        let clientFiles = TLSFiles(
            certificateChain: identity.certificatePath, privateKey: identity.privateKeyPath, trustRoots: pki.caCertificatePath)
        let server = try pki.requireIdentity(named: "kmsd")
        let transport = KeylakeServerTransport(
            configuration: .init(
                host: "127.0.0.1", port: 0,
                tls: TLSFiles(certificateChain: server.certificatePath, privateKey: server.privateKeyPath, trustRoots: pki.caCertificatePath),
                logger: logger))
        let connections = self.connections
        let clientLogger = logger
        let generate = Keylake_Kms_V1_GenerateDataKeyRequest.with {
            $0.keyID = keyARN
            $0.keySpec = "AES_256"
            $0.encryptionContext = context
        }
        let decrypt = Keylake_Kms_V1_DecryptRequest.with {
            $0.ciphertextBlob = Data(blob)
            $0.encryptionContext = context
        }
        let encrypt = Keylake_Kms_V1_EncryptRequest.with {
            $0.keyID = keyARN
            $0.plaintext = Data(plaintext)
            $0.encryptionContext = context
        }
        let overTransport = try await BenchRPCCommand.measureOverGRPC(
            server: transport,
            clients: {
                let port = try await transport.listeningAddress().port!
                return try (0..<connections).map { _ in
                    try KeylakeClientTransport(configuration: .init(host: "127.0.0.1", port: port, tls: clientFiles, logger: clientLogger))
                }
            },
            services: [KeyManagementServiceHandler(keys: keys)],
            workers: self.concurrency, warmup: self.warmup, duration: self.duration
        ) { client in
            let kms = Keylake_Kms_V1_KeyManagementService.Client(wrapping: client)
            switch op {
            case .generateDataKey: _ = try await kms.generateDataKey(generate)
            case .decrypt: _ = try await kms.decrypt(decrypt)
            case .encrypt: _ = try await kms.encrypt(encrypt)
            }
        }

        let verification = try keys.auditTrail.verifyChain()
        print("keylake bench kms: op=\(op.rawValue) connections=\(connections) concurrency=\(self.concurrency) duration=\(self.duration)s warmup=\(self.warmup)s")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(BenchRPCCommand.cpuName); audit trail on, SQLite synchronous=FULL")
        print(BenchRPCCommand.Measurement.header)
        print(overTransport.row("kmsd over mTLS"))
        print(baseline.row("KeyService in-process"))
        print(String(format: "ratio mTLS / in-process: %.3f", overTransport.callsPerSecond / baseline.callsPerSecond))
        print("audit chain: \(verification.isIntact ? "intact" : "BROKEN") after the run")
        if overTransport.errors > 0 || baseline.errors > 0 {
            throw CLIError("\(overTransport.errors + baseline.errors) calls failed")
        }
    }
}

/// Request ids for benchmark calls, cheap and unique within the run.
enum RequestIDs {
    private static let counter = Counter()
    static func next() -> String { "bench-\(self.counter.increment())" }

    private final class Counter: Sendable {
        private let value = Mutex<Int>(0)
        func increment() -> Int { self.value.withLock { $0 += 1; return $0 } }
    }
}

import Synchronization

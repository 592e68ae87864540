import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Testing

/// `kill -9` of kmsd under load, then a restart on the same configuration (issue 3, "Tests that
/// must exist"): keys, grants and the audit trail are intact, every acknowledged Encrypt and
/// GenerateDataKey still decrypts, and every acknowledged call is in the audit trail.
@Suite("kmsd: kill -9 under load and restart", .timeLimit(.minutes(10)))
struct KMSCrashRecoveryTests {
    typealias P = KMSPrincipals

    static let connections = 2
    static let loopsPerConnection = 16
    /// kmsd is killed once this many calls were acknowledged (or after `maximumLoad`, which only
    /// a hang reaches: the test needs the calls, however slow a loaded machine makes them).
    static let acknowledgedBeforeKill = 400
    static let maximumLoad: Duration = .seconds(180)
    static let maximumCallsPerLoop = 50_000

    enum Operation: String, Sendable {
        case encrypt = "Encrypt"
        case generateDataKey = "GenerateDataKey"
    }

    /// A call kmsd answered with success: it must survive the crash.
    struct Acknowledged: Sendable {
        var requestID: String
        var operation: Operation
        var plaintext: Data
        var ciphertext: Data
        var context: [String: String]
    }

    /// What one load loop saw.
    struct LoopResult: Sendable {
        var acknowledged: [Acknowledged] = []
        var failures: [String] = []
    }

    @Test("SIGKILL during Encrypt/GenerateDataKey load: after restart keys, grants, ciphertexts and audit are intact")
    func killUnderLoad() async throws {
        try await withWorkspace { workspace in
            let home = try await kmsMakeHome(workspace)
            let config = "\(home)/kmsd.json"
            let port = try configuredPort(config)

            // First run: a key with a grant, then load, then SIGKILL.
            let first = try await KMSStandaloneDaemon.start(workspace, config: config)
            let (key, grant, alias) = try await withKMSClient(home: home, port: port, as: "admin") { admin in
                let key = try await kmsCreateKey(admin, description: "crash recovery")
                let grant = try await admin.createGrant(
                    .make {
                        $0.keyID = key.keyID; $0.granteePrincipal = P.app; $0.operations = ["Encrypt", "Decrypt"]
                        $0.name = "crash-recovery"
                    }, options: .kmsTest)
                _ = try await admin.createAlias(.make { $0.aliasName = "alias/crash-recovery"; $0.targetKeyID = key.keyID }, options: .kmsTest)
                return (key, grant, "alias/crash-recovery")
            }

            let progress = KillProgress()
            let results: [LoopResult] = try await withKMSClients(Self.connections, home: home, port: port, as: "admin") { clients in
                var loads: [@Sendable () async -> LoopResult] = []
                for (connection, client) in clients.enumerated() {
                    for loop in 0..<Self.loopsPerConnection {
                        let operation: Operation = loop.isMultiple(of: 2) ? .encrypt : .generateDataKey
                        loads.append {
                            await Self.load(client, keyID: alias, operation: operation, name: "crash-\(connection)-\(loop)", progress: progress)
                        }
                    }
                }
                return try await runLoadThenKill(
                    pid: first.process.pid, progress: progress, acknowledgedBeforeKill: Self.acknowledgedBeforeKill,
                    maximumLoad: Self.maximumLoad, loads: loads)
            }
            let status = await first.process.waitForExit(timeout: .seconds(60))
            #expect(status == 128 + SIGKILL, "kmsd should have died of SIGKILL\n\(first.process.transcript)")
            let acknowledged = results.flatMap(\.acknowledged)
            let failures = results.flatMap(\.failures)
            print(
                "kill -9 under load: \(acknowledged.count) calls acknowledged before SIGKILL "
                    + "(\(acknowledged.filter { $0.operation == .encrypt }.count) Encrypt, "
                    + "\(acknowledged.filter { $0.operation == .generateDataKey }.count) GenerateDataKey), "
                    + "\(failures.count) calls failed by the kill")
            #expect(acknowledged.count >= Self.acknowledgedBeforeKill, "the load never reached \(Self.acknowledgedBeforeKill) calls")
            #expect(Set(acknowledged.map(\.requestID)).count == acknowledged.count)

            // Second run on the same configuration.
            let second = try await KMSStandaloneDaemon.start(workspace, config: config)
            try await withKMSClient(home: home, port: port, as: "admin") { admin in
                let described = try await admin.describeKey(.make { $0.keyID = alias }, options: .kmsTest).keyMetadata
                #expect(described.keyID == key.keyID)
                #expect(described.keyState == .enabled)
                #expect(described.description_p == "crash recovery")
                let grants = try await admin.listGrants(.make { $0.keyID = key.keyID }, options: .kmsTest).grants
                #expect(grants.map(\.grantID) == [grant.grantID])
                #expect(grants.first.map { Set($0.operations) } == ["Encrypt", "Decrypt"])
                #expect(grants.first?.granteePrincipal == P.app)

                // Every acknowledged ciphertext opens to what the client was told.
                let undecryptable = try await Self.undecryptable(acknowledged, admin)
                #expect(undecryptable.isEmpty, "\(undecryptable.count) acknowledged ciphertexts do not decrypt: \(undecryptable.prefix(5))")

                // Every acknowledged call is in the audit trail, as a success.
                var audited: [String: KMSAuditEvent] = [:]
                for name in [Operation.encrypt, .generateDataKey] {
                    for event in try await kmsLookupAllEvents(admin, eventName: name.rawValue) {
                        if let id = event.requestID { audited[id] = event }
                    }
                }
                let missing = acknowledged.filter { audited[$0.requestID] == nil }
                #expect(missing.isEmpty, "\(missing.count) acknowledged calls are not audited, e.g. \(missing.prefix(5).map(\.requestID))")
                let wrong = acknowledged.filter { call in
                    audited[call.requestID].map { $0.errorCode != nil || $0.eventName != call.operation.rawValue } ?? false
                }
                #expect(wrong.isEmpty, "audit events disagree with acknowledged calls: \(wrong.prefix(5).map(\.requestID))")
                let checked = try await expectAuditChainValid(admin)
                #expect(checked >= Int64(acknowledged.count))
            }
            // The grant still works for its grantee after the restart.
            try await withKMSClient(home: home, port: port, as: "app") { app in
                let blob = try await app.encrypt(.make { $0.keyID = key.arn; $0.plaintext = Data("after restart".utf8) }, options: .kmsTest)
                #expect(try await app.decrypt(.make { $0.ciphertextBlob = blob.ciphertextBlob }, options: .kmsTest).plaintext == Data("after restart".utf8))
            }
            second.process.terminate()
            #expect(await second.process.waitForExit(timeout: .seconds(120)) == 0, "\(second.process.transcript)")
        }
    }

    /// Calls `operation` in a loop until kmsd is killed and a call fails, recording every success.
    static func load(_ client: KMSClient, keyID: String, operation: Operation, name: String, progress: KillProgress) async -> LoopResult {
        var result = LoopResult()
        for index in 0..<Self.maximumCallsPerLoop {
            let requestID = "\(name)-\(index)"
            let context = ["request": requestID]
            do {
                switch operation {
                case .encrypt:
                    let plaintext = Data("plaintext of \(requestID)".utf8)
                    let response = try await client.encrypt(
                        .make { $0.keyID = keyID; $0.plaintext = plaintext; $0.encryptionContext = context },
                        metadata: .kms(requestID: requestID), options: .kmsTest)
                    result.acknowledged.append(
                        Acknowledged(requestID: requestID, operation: operation, plaintext: plaintext, ciphertext: response.ciphertextBlob, context: context))
                case .generateDataKey:
                    let response = try await client.generateDataKey(
                        .make { $0.keyID = keyID; $0.keySpec = "AES_256"; $0.encryptionContext = context },
                        metadata: .kms(requestID: requestID), options: .kmsTest)
                    result.acknowledged.append(
                        Acknowledged(
                            requestID: requestID, operation: operation, plaintext: response.plaintext, ciphertext: response.ciphertextBlob,
                            context: context))
                }
                progress.acknowledge()
            } catch {
                if !progress.killed {
                    result.failures.append("\(requestID) before the kill: \(error)")
                    Issue.record("\(requestID) failed before kmsd was killed: \(error)")
                } else {
                    result.failures.append("\(requestID): \(error)")
                }
                return result
            }
        }
        return result
    }

    /// The acknowledged calls whose ciphertext does not decrypt to their plaintext.
    static func undecryptable(_ calls: [Acknowledged], _ client: KMSClient) async throws -> [String] {
        try await withThrowingTaskGroup(of: [String].self) { group in
            let lanes = 16
            for lane in 0..<lanes {
                let share = calls.enumerated().filter { $0.offset % lanes == lane }.map(\.element)
                group.addTask {
                    var bad: [String] = []
                    for call in share {
                        do {
                            let opened = try await client.decrypt(
                                .make { $0.ciphertextBlob = call.ciphertext; $0.encryptionContext = call.context }, options: .kmsTest)
                            if opened.plaintext != call.plaintext { bad.append("\(call.requestID): wrong plaintext") }
                        } catch {
                            bad.append("\(call.requestID): \(error)")
                        }
                    }
                    return bad
                }
            }
            var bad: [String] = []
            for try await lane in group { bad += lane }
            return bad
        }
    }
}

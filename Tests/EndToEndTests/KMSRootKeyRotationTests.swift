import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Testing

/// `kmsd rotate-root-key` refuses while a kmsd has the store open (the store's lock file), and
/// after kmsd stops it moves the store to the new root key: the old ciphertext decrypts under
/// the new key, the audit chain verifies, and the old key no longer opens the store (issue 3).
@Suite("kmsd: root key rotation against a running kmsd", .timeLimit(.minutes(10)))
struct KMSRootKeyRotationTests {
    @Test("rotation is refused while kmsd runs and changes nothing; after kmsd stops it rotates and kmsd runs on the new key only")
    func rotationWhileRunning() async throws {
        try await withWorkspace { workspace in
            let home = try await kmsMakeHome(workspace)
            let config = "\(home)/kmsd.json"
            let rootKey = "\(home)/kmsd-root.key"
            let store = "\(home)/data/kmsd/kms.sqlite"
            let port = try configuredPort(config)
            let kmsd = try kmsdExecutable(workspace)
            let newRootKey = "\(home)/new-root.key"
            let made = try await workspace.run("kmsd init", executable: kmsd, ["init", "--root-key", newRootKey])
            #expect(made.status == 0, "\(made.transcript)")
            let rotate = ["rotate-root-key", "--store", store, "--old-root-key", rootKey, "--new-root-key", newRootKey]

            // 1. kmsd runs: a key, a ciphertext under it.
            let daemon = try await KMSStandaloneDaemon.start(workspace, config: config)
            let (keyID, blob) = try await withKMSClient(home: home, port: port, as: "admin") { admin in
                let key = try await kmsCreateKey(admin, description: "root key rotation")
                let blob = try await admin.encrypt(.make { $0.keyID = key.keyID; $0.plaintext = Data("kept across rotation".utf8) }, options: .kmsTest)
                return (key.keyID, blob.ciphertextBlob)
            }

            // 2. Rotation while it runs: refused, naming the running kmsd, and nothing changes.
            let before = try Self.storeBytes(store)
            let refused = try await workspace.run("kmsd rotate-root-key", executable: kmsd, rotate)
            #expect(refused.status != 0, "rotation succeeded while kmsd was running\n\(refused.transcript)")
            #expect(
                refused.standardError.contains("the key store \(store) is in use by a running kmsd (pid \(daemon.process.pid))"),
                "\(refused.transcript)")
            #expect(refused.standardError.contains("unchanged"), "\(refused.transcript)")
            #expect(!refused.standardOutput.contains("rotated:"), "\(refused.transcript)")
            #expect(try Self.storeBytes(store) == before, "the refused rotation changed the key store")
            // A second kmsd on the same store is refused the same way.
            let second = try await workspace.keylake(["daemon", "kmsd", "--config", config], timeout: .seconds(120))
            #expect(second.status != 0, "\(second.transcript)")
            #expect(second.standardError.contains("in use by a running kmsd (pid \(daemon.process.pid))"), "\(second.transcript)")
            // The running kmsd still works on the old key.
            try await withKMSClient(home: home, port: port, as: "admin") { admin in
                let opened = try await admin.decrypt(.make { $0.ciphertextBlob = blob }, options: .kmsTest)
                #expect(opened.plaintext == Data("kept across rotation".utf8))
                try await expectAuditChainValid(admin)
            }

            // 3. Stop kmsd; rotate.
            daemon.process.terminate()
            #expect(await daemon.process.waitForExit(timeout: .seconds(120)) == 0, "\(daemon.process.transcript)")
            let rotated = try await workspace.run("kmsd rotate-root-key", executable: kmsd, rotate)
            #expect(rotated.status == 0, "\(rotated.transcript)")
            #expect(rotated.standardOutput.contains("rotated:"), "\(rotated.transcript)")

            // 4. kmsd on the new key: the old ciphertext decrypts and the audit chain verifies.
            let newConfig = try KMSRootKeyTests.configuration(config, rootKeyFile: "new-root.key", in: home, named: "kmsd-new.json")
            let restarted = try await KMSStandaloneDaemon.start(workspace, config: newConfig)
            try await withKMSClient(home: home, port: port, as: "admin") { admin in
                let opened = try await admin.decrypt(.make { $0.ciphertextBlob = blob }, options: .kmsTest)
                #expect(opened.plaintext == Data("kept across rotation".utf8))
                #expect(opened.keyID.hasSuffix(keyID))
                let again = try await admin.encrypt(.make { $0.keyID = keyID; $0.plaintext = Data("new".utf8) }, options: .kmsTest)
                #expect(try await admin.decrypt(.make { $0.ciphertextBlob = again.ciphertextBlob }, options: .kmsTest).plaintext == Data("new".utf8))
                try await expectAuditChainValid(admin)
            }
            restarted.process.terminate()
            #expect(await restarted.process.waitForExit(timeout: .seconds(120)) == 0, "\(restarted.process.transcript)")

            // 5. The old key no longer opens the store.
            let old = try await KMSRootKeyTests.refusedStart(workspace, config: config, port: port)
            #expect(old.standardError.contains("does not match"), "\(old.transcript)")
        }
    }

    /// The database file and its write-ahead log, byte for byte.
    static func storeBytes(_ store: String) throws -> [Data] {
        try [store, "\(store)-wal"].map { path in
            FileManager.default.fileExists(atPath: path) ? try Data(contentsOf: URL(fileURLWithPath: path)) : Data()
        }
    }
}

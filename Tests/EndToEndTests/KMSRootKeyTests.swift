import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Testing

/// kmsd refuses to start without the right root key, with a message that says what to do, and
/// leaves the key store alone (issue 3, "Keys and material").
@Suite("kmsd: root key errors", .timeLimit(.minutes(10)))
struct KMSRootKeyTests {
    @Test("missing, world-readable or different root key: kmsd exits non-zero with a clear message and the store is untouched")
    func rootKeyErrors() async throws {
        try await withWorkspace { workspace in
            let home = workspace.path("home")
            let config = "\(home)/kmsd.json"
            let rootKey = "\(home)/kmsd-root.key"

            // A home whose store holds a key, a grant, an alias and some audit events.
            let system = try await KMSDevSystem.start(in: workspace)
            let (key, grantID, blob, trailBefore) = try await system.withClient(as: "admin") { admin in
                let key = try await kmsCreateKey(admin, description: "root key errors")
                let blob = try await admin.encrypt(.make { $0.keyID = key.keyID; $0.plaintext = Data("kept".utf8) }, options: .kmsTest)
                let grant = try await admin.createGrant(
                    .make { $0.keyID = key.keyID; $0.granteePrincipal = KMSPrincipals.app; $0.operations = ["Decrypt"] }, options: .kmsTest)
                _ = try await admin.createAlias(.make { $0.aliasName = "alias/root-key-errors"; $0.targetKeyID = key.keyID }, options: .kmsTest)
                return (key, grant.grantID, blob.ciphertextBlob, try await kmsLookupAllEvents(admin))
            }
            #expect(await system.stop() == 0, "\(system.devUp.transcript)")
            let port = system.kmsdPort
            let storeBefore = try Self.storeFiles(home)
            let rootKeyBytes = try Data(contentsOf: URL(fileURLWithPath: rootKey))
            #expect(rootKeyBytes.count == 32)
            #expect(try Self.mode(rootKey) == 0o600)

            // 1. No root key file.
            try FileManager.default.moveItem(atPath: rootKey, toPath: "\(rootKey).moved")
            let missing = try await Self.refusedStart(workspace, config: config, port: port)
            #expect(missing.standardError.contains(rootKey), "the message must name the path\n\(missing.transcript)")
            #expect(missing.standardError.contains("kmsd init"), "the message must say how to create one\n\(missing.transcript)")
            try FileManager.default.moveItem(atPath: "\(rootKey).moved", toPath: rootKey)

            // 2. Group- and world-readable root key file.
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: rootKey)
            let readable = try await Self.refusedStart(workspace, config: config, port: port)
            #expect(readable.standardError.contains(rootKey), "\(readable.transcript)")
            #expect(readable.standardError.contains("644"), "the message must give the mode found\n\(readable.transcript)")
            #expect(readable.standardError.contains("0600"), "the message must give the mode required\n\(readable.transcript)")
            #expect(readable.standardError.contains("chmod"), "\(readable.transcript)")
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: rootKey)

            // 3. A root key of the wrong length.
            let short = "\(home)/short-root.key"
            #expect(FileManager.default.createFile(atPath: short, contents: Data(repeating: 1, count: 31), attributes: [.posixPermissions: 0o600]))
            let shortConfig = try Self.configuration(config, rootKeyFile: "short-root.key", in: home, named: "kmsd-short.json")
            let wrongLength = try await Self.refusedStart(workspace, config: shortConfig, port: port)
            #expect(wrongLength.standardError.contains("32"), "\(wrongLength.transcript)")

            // Root key problems are found before the store is opened: not one byte of it changed.
            let storeAfterLoadFailures = try Self.storeFiles(home)
            #expect(storeAfterLoadFailures == storeBefore, "a refused start changed the key store files")

            // 4. Another root key, made by `kmsd init`, pointed at the existing store.
            let kmsd = try kmsdExecutable(workspace)
            let otherKey = "\(home)/other-root.key"
            let made = try await workspace.run("kmsd init", executable: kmsd, ["init", "--root-key", otherKey])
            #expect(made.status == 0, "\(made.transcript)")
            #expect(try Self.mode(otherKey) == 0o600)
            #expect(try Data(contentsOf: URL(fileURLWithPath: otherKey)) != rootKeyBytes)
            // kmsd init never overwrites a root key.
            let overwrite = try await workspace.run("kmsd init", executable: kmsd, ["init", "--root-key", rootKey])
            #expect(overwrite.status != 0, "\(overwrite.transcript)")
            #expect(overwrite.standardError.contains("refusing to overwrite"), "\(overwrite.transcript)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: rootKey)) == rootKeyBytes, "kmsd init changed the root key")

            let otherConfig = try Self.configuration(config, rootKeyFile: "other-root.key", in: home, named: "kmsd-other.json")
            let mismatch = try await Self.refusedStart(workspace, config: otherConfig, port: port)
            #expect(mismatch.standardError.contains("does not match"), "the message must say the key is the wrong one\n\(mismatch.transcript)")
            // The same through the kmsd executable itself.
            let direct = try await workspace.run("kmsd", executable: kmsd, ["--config", otherConfig], timeout: .seconds(120))
            #expect(direct.status != 0, "\(direct.transcript)")
            #expect(direct.standardError.contains("does not match"), "\(direct.transcript)")
            #expect(!direct.standardOutput.contains("ready on"), "\(direct.transcript)")

            // A mismatched key is found through a read-only connection, before the store is
            // opened for writing: not a byte of the database file changes. (A reader may leave
            // SQLite's empty -wal/-shm side files; they hold no data.)
            let storeAfterMismatch = try Self.storeFiles(home)
            #expect(storeAfterMismatch["kms.sqlite"] != nil)
            #expect(storeAfterMismatch["kms.sqlite"] == storeBefore["kms.sqlite"], "the mismatched start changed the key store")
            #expect(
                (storeAfterMismatch["kms.sqlite-wal"] ?? Data()) == (storeBefore["kms.sqlite-wal"] ?? Data()),
                "the mismatched start wrote to the WAL")

            // With the right key everything is as it was: keys, grants, aliases, material and the trail.
            let restarted = try await KMSStandaloneDaemon.start(workspace, config: config)
            try await withKMSClient(home: home, port: port, as: "admin") { admin in
                let described = try await admin.describeKey(.make { $0.keyID = "alias/root-key-errors" }, options: .kmsTest).keyMetadata
                #expect(described.keyID == key.keyID)
                #expect(described.keyState == .enabled)
                let grants = try await admin.listGrants(.make { $0.keyID = key.keyID }, options: .kmsTest).grants
                #expect(grants.map(\.grantID) == [grantID])
                let opened = try await admin.decrypt(.make { $0.ciphertextBlob = blob }, options: .kmsTest)
                #expect(opened.plaintext == Data("kept".utf8))
                let trailAfter = try await kmsLookupAllEvents(admin)
                // The first lookup's own event, and DescribeKey, ListGrants, Decrypt since the restart.
                #expect(trailAfter.count == trailBefore.count + 4, "events before \(trailBefore.count), now \(trailAfter.count)")
                let after = Set(trailAfter.map(\.document))
                let lost = trailBefore.filter { !after.contains($0.document) }
                #expect(lost.isEmpty, "audit events changed or lost: \(lost.map(\.eventName))")
                try await expectAuditChainValid(admin)
            }
            restarted.process.terminate()
            #expect(await restarted.process.waitForExit(timeout: .seconds(120)) == 0, "\(restarted.process.transcript)")
        }
    }

    /// Starts `keylake daemon kmsd --config CONFIG` and expects it to exit non-zero soon, without
    /// ever listening.
    static func refusedStart(_ workspace: Workspace, config: String, port: Int) async throws -> CompletedProcess {
        // A refused start exits by itself; only one that wrongly keeps running (or a hang) lasts this long.
        let result = try await workspace.keylake(["daemon", "kmsd", "--config", config], timeout: .seconds(120))
        #expect(result.status != 0, "kmsd started although it should not have\n\(result.transcript)")
        #expect(!result.standardOutput.contains("ready on"), "\(result.transcript)")
        #expect(await !isListening(port: port), "something listens on kmsd's port after a refused start")
        return result
    }

    /// Writes a copy of kmsd's configuration beside it with another `kms.rootKeyFile`.
    static func configuration(_ path: String, rootKeyFile: String, in home: String, named name: String) throws -> String {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var kms = try #require(object["kms"] as? [String: Any], "kmsd.json has no kms section")
        kms["rootKeyFile"] = rootKeyFile
        object["kms"] = kms
        let copy = "\(home)/\(name)"
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: copy))
        return copy
    }

    /// The bytes of every file of kmsd's data directory, by name.
    static func storeFiles(_ home: String) throws -> [String: Data] {
        let directory = "\(home)/data/kmsd"
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            files[name] = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))
        }
        return files
    }

    static func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }
}

import Foundation
import GRDB
import Testing

@testable import KMS

@Suite("KeyStore")
struct KeyStoreTests {
    let identity = try! KeyServiceIdentity(region: "us-east-1", accountID: "111122223333")
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func withStore(_ body: (KeyStore, String, RootKey, ManualWallClock) throws -> Void) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("kms.sqlite")
        let rootKey = try RootKey(bytes: [UInt8](repeating: 0x42, count: 32))
        let clock = ManualWallClock(start: self.start)
        let store = try KeyStore(path: path, rootKey: rootKey, identity: self.identity, clock: clock)
        try body(store, path, rootKey, clock)
    }

    @Test("WAL and synchronous=FULL are in effect")
    func pragmas() throws {
        try self.withStore { store, _, _, _ in
            let (journal, synchronous) = try store.database.read { db in
                (try String.fetchOne(db, sql: "PRAGMA journal_mode")!, try Int.fetchOne(db, sql: "PRAGMA synchronous")!)
            }
            #expect(journal == "wal")
            #expect(synchronous == 2)  // FULL
            // The writer commits: it is the connection whose setting makes commits durable.
            let writerSynchronous = try store.database.writeWithoutTransaction { db in
                try Int.fetchOne(db, sql: "PRAGMA synchronous")!
            }
            #expect(writerSynchronous == 2)
        }
    }

    @Test("a key is created with material, default policy and clock time, and survives reopening")
    func createAndReopen() throws {
        try self.withStore { store, path, rootKey, clock in
            let key = try store.createKey(NewKeyRequest(description: "datastore key"))
            #expect(key.state == .enabled)
            #expect(key.creationDate == self.start)
            #expect(key.arn == "arn:aws:kms:us-east-1:111122223333:key/\(key.keyID)")
            #expect(try store.key(key.keyID) == key)
            let material = try store.material(keyID: key.keyID, version: 1)
            let blob = try CiphertextBlob.seal([1, 2, 3], keyID: key.keyID, materialVersion: 1, material: material, context: ["a": "b"])
            #expect(try store.policy(for: key.keyID) == KeyPolicy.defaultPolicy(accountID: "111122223333"))

            clock.advance(by: 60)
            try store.close()
            let reopened = try KeyStore(path: path, rootKey: rootKey, identity: self.identity, clock: clock)
            #expect(try reopened.key(key.keyID) == key)
            let reread = try reopened.material(keyID: key.keyID, version: 1)
            #expect(try blob.open(with: reread, context: ["a": "b"]) == [1, 2, 3])
        }
    }

    @Test("opening with another root key stops with a mismatch error")
    func wrongRootKey() throws {
        try self.withStore { store, path, _, _ in
            _ = try store.createKey(NewKeyRequest())
            let other = try RootKey(bytes: [UInt8](repeating: 0x43, count: 32))
            try store.close()
            #expect(throws: RootKeyError(code: .mismatch, message: "")) {
                _ = try KeyStore(path: path, rootKey: other, identity: self.identity)
            }
        }
    }

    @Test("rotation adds versions; old versions still decrypt")
    func rotation() throws {
        try self.withStore { store, _, _, _ in
            let key = try store.createKey(NewKeyRequest())
            let old = try store.material(keyID: key.keyID, version: 1)
            let blob = try CiphertextBlob.seal([9], keyID: key.keyID, materialVersion: 1, material: old, context: [:])
            #expect(try store.rotate(keyID: key.keyID, onDemand: true) == 2)
            #expect(try store.rotate(keyID: key.keyID, onDemand: false) == 3)
            #expect(try store.key(key.keyID).currentMaterialVersion == 3)
            #expect(try store.material(keyID: key.keyID, version: 3) != old)
            #expect(try blob.open(with: store.material(keyID: key.keyID, version: 1), context: [:]) == [9])
            #expect(throws: KMSError(code: .notFound, message: "")) { try store.material(keyID: key.keyID, version: 4) }
        }
    }

    @Test("material copied onto another key in the database does not open")
    func materialBoundToKey() throws {
        try self.withStore { store, _, _, _ in
            let victim = try store.createKey(NewKeyRequest())
            let attacker = try store.createKey(NewKeyRequest())
            try store.database.write { db in
                try db.execute(
                    sql: "UPDATE key_material SET wrapped = (SELECT wrapped FROM key_material WHERE key_id = ?) WHERE key_id = ?",
                    arguments: [attacker.keyID.description, victim.keyID.description]
                )
            }
            #expect(throws: KMSError(code: .internalFailure, message: "")) { try store.material(keyID: victim.keyID, version: 1) }
        }
    }

    @Test("state, policy and aliases")
    func stateAndPolicyAndAliases() throws {
        try self.withStore { store, _, _, clock in
            let key = try store.createKey(NewKeyRequest(kind: .serviceOwned, ownerService: "healthlake.amazonaws.com"))
            #expect(try store.key(key.keyID).ownerService == "healthlake.amazonaws.com")
            let deletion = clock.now().addingTimeInterval(7 * 86_400)
            try store.setState(.pendingDeletion, deletionDate: deletion, for: key.keyID)
            #expect(try store.key(key.keyID).state == .pendingDeletion)
            #expect(try store.key(key.keyID).deletionDate == deletion)
            #expect(throws: KMSError(code: .notFound, message: "")) { try store.setState(.enabled, deletionDate: nil, for: .generate()) }

            let policy = try KeyPolicy(parsing: PolicyFixtures.seedPolicy)
            try store.putPolicy(policy, for: key.keyID)
            #expect(try store.policy(for: key.keyID).document == PolicyFixtures.seedPolicy)

            try store.createAlias("alias/healthlake-ds-1", for: key.keyID)
            #expect(try store.resolveAlias("alias/healthlake-ds-1") == key.keyID)
            #expect(throws: KMSError(code: .alreadyExists, message: "")) { try store.createAlias("alias/healthlake-ds-1", for: key.keyID) }
            for bad in ["healthlake", "alias/", "alias/aws/s3", "alias/a b", "alias/" + String(repeating: "x", count: 251)] {
                #expect(throws: KMSError(code: .invalidAliasName, message: ""), "\(bad)") { try store.createAlias(bad, for: key.keyID) }
            }
            #expect(throws: KMSError(code: .notFound, message: "")) { try store.createAlias("alias/x", for: .generate()) }
            try store.deleteAlias("alias/healthlake-ds-1")
            #expect(throws: KMSError(code: .notFound, message: "")) { try store.resolveAlias("alias/healthlake-ds-1") }
        }
    }

    @Test("request validation")
    func validation() throws {
        try self.withStore { store, _, _, _ in
            #expect(throws: KMSError(code: .validation, message: "")) { try store.createKey(NewKeyRequest(kind: .serviceOwned)) }
            #expect(throws: KMSError(code: .validation, message: "")) { try store.createKey(NewKeyRequest(ownerService: "x.amazonaws.com")) }
            #expect(throws: KMSError(code: .validation, message: "")) { try store.createKey(NewKeyRequest(description: String(repeating: "d", count: 8193))) }
            #expect(throws: KMSError(code: .notFound, message: "")) { try store.key(.generate()) }
        }
        #expect(throws: KMSError(code: .validation, message: "")) { try KeyServiceIdentity(region: "us-east-1", accountID: "1234") }
    }
}

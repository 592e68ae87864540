import Foundation
import GRDB
import Testing

@testable import KMS

@Suite("Root-key rotation")
struct RootKeyRotationTests {
    typealias F = KeyServiceFixture
    static let newRootKey = try! RootKey(bytes: [UInt8](repeating: 0x17, count: 32))

    /// A store with two keys (one rotated), an alias, a grant and ciphertexts under every version.
    func populated() async throws -> (F, blobs: [[UInt8]: [UInt8]]) {
        let fixture = try F()
        let service = fixture.service
        let first = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let second = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        try await service.createAlias(aliasName: "alias/kept", targetKeyID: second.arn, caller: F.rootCaller)
        _ = try await service.createGrant(CreateGrantRequest(keyID: first.arn, granteePrincipal: F.adminRole, operations: ["Decrypt"]), caller: F.rootCaller)
        var blobs = [[UInt8]: [UInt8]]()
        for plaintext in [[1], [2, 2]] as [[UInt8]] {
            blobs[try await service.encrypt(keyID: first.arn, plaintext: plaintext, caller: F.rootCaller).ciphertextBlob] = plaintext
        }
        _ = try await service.rotateKeyOnDemand(keyID: first.arn, caller: F.rootCaller)
        blobs[try await service.encrypt(keyID: first.arn, plaintext: [3], caller: F.rootCaller).ciphertextBlob] = [3]
        blobs[try await service.encrypt(keyID: "alias/kept", plaintext: [4], caller: F.rootCaller).ciphertextBlob] = [4]
        return (fixture, blobs)
    }

    func chainHashes(_ fixture: F) throws -> [Data] {
        let raw = try fixture.rawDatabase()
        defer { try? raw.close() }
        return try raw.read { db in try Data.fetchAll(db, sql: "SELECT chain_hash FROM audit_event ORDER BY sequence") }
    }

    /// The rows that must not change when a rotation is refused.
    func storedState(_ fixture: F) throws -> [String] {
        let raw = try fixture.rawDatabase()
        defer { try? raw.close() }
        return try raw.read { db in
            try String.fetchAll(db, sql: "SELECT hex(key_id || version || hex(wrapped)) FROM key_material ORDER BY key_id, version")
                + String.fetchAll(db, sql: "SELECT hex(seal) FROM audit_event ORDER BY sequence")
                + String.fetchAll(db, sql: "SELECT hex(seal) FROM audit_head")
                + String.fetchAll(db, sql: "SELECT hex(value) FROM store_metadata ORDER BY name")
        }
    }

    @Test("every material version and audit seal moves to the new key in one step; the old key no longer opens the store")
    func rotates() async throws {
        let (fixture, blobs) = try await self.populated()
        defer { fixture.remove() }
        let events = try fixture.auditDocuments().count
        let hashes = try self.chainHashes(fixture)
        let before = try self.storedState(fixture)

        // While the service has the store open (as a running kmsd does), rotation is refused.
        #expect(throws: KeyStoreLockError(code: .inUse, message: "")) {
            _ = try KeyStore.rotateRootKey(path: fixture.path, from: fixture.rootKey, to: Self.newRootKey)
        }
        #expect(try self.storedState(fixture) == before)
        try fixture.service.close()

        let summary = try KeyStore.rotateRootKey(path: fixture.path, from: fixture.rootKey, to: Self.newRootKey)
        #expect(summary == RootKeyRotationSummary(materialVersions: 3, auditEvents: events))

        #expect(throws: RootKeyError(code: .mismatch, message: "")) {
            _ = try KeyService(path: fixture.path, rootKey: fixture.rootKey, configuration: fixture.service.configuration)
        }
        let reopened = try KeyService(path: fixture.path, rootKey: Self.newRootKey, configuration: fixture.service.configuration, clock: fixture.clock)
        #expect(try reopened.auditTrail.verifyChain() == .intact(eventCount: events))
        #expect(try self.chainHashes(fixture) == hashes)
        for (blob, plaintext) in blobs {
            #expect(try await reopened.decrypt(ciphertextBlob: blob, caller: F.rootCaller).plaintext == plaintext)
        }
        #expect(try await reopened.decrypt(ciphertextBlob: try #require(blobs.first { $0.value == [1] }).key, caller: F.caller(F.adminRole)).plaintext == [1])
        _ = try await reopened.generateDataKey(keyID: "alias/kept", keySpec: .aes256, caller: F.rootCaller)
        #expect(try reopened.auditTrail.verifyChain() == .intact(eventCount: events + blobs.count + 2))
        // The append-only trigger is back.
        #expect(throws: DatabaseError.self) { try fixture.rawDatabase().write { try $0.execute(sql: "UPDATE audit_event SET seal = x'00' WHERE sequence = 1") } }
    }

    @Test("a wrong old key, the same key twice, or no store: refused, nothing changes")
    func refusals() async throws {
        let (fixture, _) = try await self.populated()
        defer { fixture.remove() }
        try fixture.service.close()
        let before = try self.storedState(fixture)
        #expect(throws: RootKeyError(code: .mismatch, message: "")) {
            _ = try KeyStore.rotateRootKey(path: fixture.path, from: Self.newRootKey, to: fixture.rootKey)
        }
        #expect(throws: RootKeyError(code: .mismatch, message: "")) {
            _ = try KeyStore.rotateRootKey(path: fixture.path, from: fixture.rootKey, to: try RootKey(bytes: [UInt8](repeating: 0x42, count: 32)))
        }
        #expect(throws: RootKeyError(code: .fileMissing, message: "")) {
            _ = try KeyStore.rotateRootKey(path: fixture.directory.file("none.sqlite"), from: fixture.rootKey, to: Self.newRootKey)
        }
        #expect(try self.storedState(fixture) == before)
    }

    @Test("a damaged material record or a broken audit chain stops the rotation with nothing changed")
    func failureChangesNothing() async throws {
        for damage in ["material", "audit"] {
            let (fixture, blobs) = try await self.populated()
            try fixture.service.close()
            defer { fixture.remove() }
            let raw = try fixture.rawDatabase()
            try await raw.write { db in
                if damage == "material" {
                    // The last record in rotation order fails authentication: the others were
                    // already re-wrapped inside the transaction when it is reached.
                    let row = try #require(try Row.fetchOne(db, sql: "SELECT key_id, version, wrapped FROM key_material ORDER BY key_id DESC, version DESC LIMIT 1"))
                    var wrapped = Array(row["wrapped"] as Data)
                    wrapped[40] ^= 0x01
                    try db.execute(
                        sql: "UPDATE key_material SET wrapped = ? WHERE key_id = ? AND version = ?",
                        arguments: [Data(wrapped), row["key_id"] as String, row["version"] as Int64]
                    )
                } else {
                    try db.execute(sql: "DROP TRIGGER audit_event_no_update")
                    try db.execute(sql: "UPDATE audit_event SET document = document || ' ' WHERE sequence = 3")
                    try db.execute(sql: "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END")
                }
            }
            try raw.close()
            let before = try self.storedState(fixture)
            #expect(throws: KMSError(code: .internalFailure, message: ""), "\(damage)") {
                _ = try KeyStore.rotateRootKey(path: fixture.path, from: fixture.rootKey, to: Self.newRootKey)
            }
            #expect(try self.storedState(fixture) == before, "\(damage)")
            let reopened = try KeyService(path: fixture.path, rootKey: fixture.rootKey, configuration: fixture.service.configuration, clock: fixture.clock)
            if damage == "audit" {
                #expect(try await reopened.decrypt(ciphertextBlob: try #require(blobs.first?.key), caller: F.rootCaller).plaintext == blobs.first?.value)
            }
        }
    }
}

import Foundation
import GRDB

extension KeyStore {
    /// Moves a key store from one root key to another: every key material version is unwrapped
    /// under the old root key and wrapped under the new one, every audit event and the chain head
    /// are sealed again under the new key's audit subkey, and the stored check value becomes the
    /// new key's — all in **one** SQLite transaction (`synchronous=FULL`), so a crash or an error
    /// at any point leaves the store entirely under the old key. Afterwards the write-ahead log is
    /// checkpointed and truncated, so no record wrapped under the old key is left in it.
    ///
    /// Run it while `kmsd` is stopped: a running `kmsd` keeps the old key in memory. It takes the
    /// store's lock (``KeyStoreLock``) first and refuses with ``KeyStoreLockError`` `inUse` while
    /// a `kmsd` holds it; while it runs, a `kmsd` starting on the store is refused. Records
    /// wrapped under the old key may still exist in backups made before; keep the old key as long
    /// as those backups.
    ///
    /// The audit chain is verified under the old key first, in the same transaction, and a broken
    /// chain is refused: sealing it again would hide the tampering.
    ///
    /// - Returns: How many material versions and audit events were moved.
    /// - Throws: ``KeyStoreLockError`` `inUse` when a `kmsd` has the store open; ``RootKeyError`` `fileMissing` when there is no store at `path`, `mismatch` when
    ///   `oldRootKey` is not the store's key or `newRootKey` is the same key; ``KMSError``
    ///   `KMSInternalException` when a material record does not open under the old key or the
    ///   audit chain is broken; GRDB's `DatabaseError` when the database fails. Nothing changes
    ///   in any of these cases.
    public static func rotateRootKey(path: String, from oldRootKey: RootKey, to newRootKey: RootKey) throws -> RootKeyRotationSummary {
        guard FileManager.default.fileExists(atPath: path) else {
            throw RootKeyError(code: .fileMissing, message: "no key store at \(path)")
        }
        guard oldRootKey.checkValue != newRootKey.checkValue else {
            throw RootKeyError(code: .mismatch, message: "the new root key is the same key as the old one")
        }
        let lock = try KeyStoreLock.acquire(forStoreAt: path, holder: "kmsd rotate-root-key")
        defer { lock.release() }
        try Self.verifyRootKeyIfStoreExists(path: path, rootKey: oldRootKey)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        let oldWrapper = MaterialWrapper(rootKey: oldRootKey)
        let newWrapper = MaterialWrapper(rootKey: newRootKey)
        let oldSealer = AuditSealer(key: oldRootKey.auditSealKey)
        let newSealer = AuditSealer(key: newRootKey.auditSealKey)
        let summary = try queue.writeWithoutTransaction { db -> RootKeyRotationSummary in
            var summary = RootKeyRotationSummary(materialVersions: 0, auditEvents: 0)
            try db.inTransaction(.exclusive) {
                // Checked again inside the transaction: nothing may change between check and use.
                let stored = try Data.fetchOne(db, sql: "SELECT value FROM store_metadata WHERE name = ?", arguments: [Self.rootKeyCheckName])
                try oldRootKey.verify(storedCheckValue: stored.map(Array.init) ?? [])
                summary.materialVersions = try Self.rewrapMaterial(db, from: oldWrapper, to: newWrapper)
                summary.auditEvents = try Self.resealAuditTrail(db, from: oldSealer, to: newSealer)
                try db.execute(
                    sql: "UPDATE store_metadata SET value = ? WHERE name = ?",
                    arguments: [Data(newRootKey.checkValue), Self.rootKeyCheckName]
                )
                return .commit
            }
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            return summary
        }
        return summary
    }

    private static func rewrapMaterial(_ db: Database, from old: MaterialWrapper, to new: MaterialWrapper) throws -> Int {
        let rows = try Row.fetchAll(db, sql: "SELECT key_id, version, wrapped FROM key_material ORDER BY key_id, version")
        for row in rows {
            let text: String = row["key_id"]
            let storedVersion: Int64 = row["version"]
            guard let keyID = KeyID(text), let version = UInt32(exactly: storedVersion) else {
                throw KMSError.internalFailure("a key material record has an unreadable key id or version")
            }
            let material = try old.unwrap(try WrappedKeyMaterial(bytes: Array(row["wrapped"] as Data)), keyID: keyID, version: version)
            let wrapped = try new.wrap(material, keyID: keyID, version: version)
            try db.execute(
                sql: "UPDATE key_material SET wrapped = ? WHERE key_id = ? AND version = ?",
                arguments: [Data(wrapped.bytes), text, storedVersion]
            )
        }
        return rows.count
    }

    private static func resealAuditTrail(_ db: Database, from old: AuditSealer, to new: AuditSealer) throws -> Int {
        guard case .intact = try AuditTrail.verifyChain(db, sealer: old) else {
            throw KMSError.internalFailure("the audit chain does not verify under the old root key; it is not sealed again (run keylake audit verify)")
        }
        // Events are append-only; the trigger is lifted for the new seals only, inside this
        // transaction, and put back before it commits.
        try db.execute(sql: "DROP TRIGGER audit_event_no_update")
        let rows = try Row.fetchAll(db, sql: "SELECT sequence, chain_hash FROM audit_event ORDER BY sequence")
        let update = try db.makeStatement(sql: "UPDATE audit_event SET seal = ? WHERE sequence = ?")
        for row in rows {
            let sequence: Int64 = row["sequence"]
            let hash = Array(row["chain_hash"] as Data)
            try update.execute(arguments: [Data(AuditTrail.seal(new, AuditTrail.eventSealLabel, sequence: sequence, hash: hash)), sequence])
        }
        try db.execute(
            sql: """
                CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
                BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
                """
        )
        if let head = try Row.fetchOne(db, sql: "SELECT sequence, chain_hash FROM audit_head WHERE id = 1") {
            let sequence: Int64 = head["sequence"]
            let hash = Array(head["chain_hash"] as Data)
            try db.execute(
                sql: "UPDATE audit_head SET seal = ? WHERE id = 1",
                arguments: [Data(AuditTrail.seal(new, AuditTrail.headSealLabel, sequence: sequence, hash: hash))]
            )
        }
        guard case .intact = try AuditTrail.verifyChain(db, sealer: new) else {
            throw KMSError.internalFailure("the audit chain did not verify after sealing it again; nothing was changed")
        }
        return rows.count
    }
}

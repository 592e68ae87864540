import Foundation
import GRDB

/// Database-level steps the key service composes into one transaction with its audit event.
extension KeyStore {
    /// Keys of one kind (and owner service), ordered by id, after `afterKeyID` when paging.
    static func keys(_ db: Database, kind: KeyKind, ownerService: String?, after afterKeyID: String?, limit: Int) throws -> [KeyMetadata] {
        let ids = try String.fetchAll(
            db,
            sql: """
                SELECT id FROM kms_key WHERE kind = ? AND owner_service IS ? AND id > ? ORDER BY id LIMIT ?
                """,
            arguments: [kind.rawValue, ownerService, afterKeyID ?? "", limit]
        )
        return try ids.compactMap(KeyID.init).map { try Self.fetchKey(db, $0) }
    }

    /// The key's policy, parsed.
    func policy(_ db: Database, keyID: KeyID) throws -> KeyPolicy {
        let document = try String.fetchOne(
            db.cachedStatement(sql: "SELECT document FROM key_policy WHERE key_id = ? AND name = ?"),
            arguments: [keyID.description, KeyPolicy.defaultName]
        )
        guard let document else { throw KMSError.notFound("key \(keyID) does not exist") }
        return try self.cache.policy(keyID, document: document) { document in
            do {
                return try KeyPolicy(parsing: document)
            } catch {
                throw KMSError.internalFailure("the stored policy of key \(keyID) no longer parses", cause: error)
            }
        }
    }

    /// Replaces the key's policy document.
    static func putPolicy(_ db: Database, _ policy: KeyPolicy, keyID: KeyID) throws {
        try db.execute(
            sql: "UPDATE key_policy SET document = ? WHERE key_id = ? AND name = ?",
            arguments: [policy.document, keyID.description, KeyPolicy.defaultName]
        )
        guard db.changesCount == 1 else { throw KMSError.notFound("key \(keyID) does not exist") }
    }

    /// Replaces the key's description.
    static func setDescription(_ db: Database, _ description: String, keyID: KeyID) throws {
        try db.execute(sql: "UPDATE kms_key SET description = ? WHERE id = ?", arguments: [description, keyID.description])
    }

    /// Turns automatic rotation on (with period and next date) or off.
    static func setRotation(_ db: Database, keyID: KeyID, periodInDays: Int?, nextRotationDate: Date?) throws {
        try db.execute(
            sql: "UPDATE kms_key SET rotation_enabled = ?, rotation_period_days = ?, next_rotation_date = ? WHERE id = ?",
            arguments: [periodInDays != nil, periodInDays, nextRotationDate.map(Self.milliseconds), keyID.description]
        )
    }

    /// When automatic rotation will next rotate the key, if it is on.
    static func nextRotationDate(_ db: Database, keyID: KeyID) throws -> Date? {
        try Int64.fetchOne(db, sql: "SELECT next_rotation_date FROM kms_key WHERE id = ?", arguments: [keyID.description])
            .map { Self.date(milliseconds: $0) }
    }

    /// Enabled keys with rotation on whose next rotation date is at or before `date`.
    static func keysDueForRotation(_ db: Database, at date: Date) throws -> [KeyID] {
        try String.fetchAll(
            db,
            sql: """
                SELECT id FROM kms_key WHERE rotation_enabled = 1 AND state = 'Enabled'
                AND next_rotation_date IS NOT NULL AND next_rotation_date <= ? ORDER BY id
                """,
            arguments: [Self.milliseconds(date)]
        ).compactMap(KeyID.init)
    }

    /// Keys pending deletion whose deletion date is at or before `date`.
    static func keysDueForDeletion(_ db: Database, at date: Date) throws -> [KeyID] {
        try String.fetchAll(
            db,
            sql: """
                SELECT id FROM kms_key WHERE state = 'PendingDeletion'
                AND deletion_date IS NOT NULL AND deletion_date <= ? ORDER BY id
                """,
            arguments: [Self.milliseconds(date)]
        ).compactMap(KeyID.init)
    }

    /// Deletes a key with all its material, policy, aliases, tags and grants (foreign-key cascade).
    static func deleteKey(_ db: Database, keyID: KeyID) throws {
        for table in ["grant_token WHERE grant_id IN (SELECT id FROM key_grant WHERE key_id = ?)",
                      "key_grant WHERE key_id = ?", "key_tag WHERE key_id = ?", "alias WHERE key_id = ?",
                      "key_policy WHERE key_id = ?", "key_material WHERE key_id = ?", "kms_key WHERE id = ?"]
        {
            try db.execute(sql: "DELETE FROM \(table)", arguments: [keyID.description])
        }
    }

    /// The rotations of a key (material versions after the first), oldest first.
    static func rotations(_ db: Database, keyID: KeyID, afterVersion: UInt32, limit: Int) throws -> [KeyRotation] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT version, creation_date, rotation_type FROM key_material
                WHERE key_id = ? AND version > ? AND rotation_type != 'INITIAL' ORDER BY version LIMIT ?
                """,
            arguments: [keyID.description, Int64(afterVersion), limit]
        ).map { row in
            let version: Int64 = row["version"]
            return KeyRotation(
                keyID: keyID,
                materialVersion: UInt32(version),
                rotationDate: Self.date(milliseconds: row["creation_date"]),
                rotationType: row["rotation_type"] == "ON_DEMAND" ? .onDemand : .automatic
            )
        }
    }

    /// How many on-demand rotations a key has had.
    static func onDemandRotationCount(_ db: Database, keyID: KeyID) throws -> Int {
        try Int.fetchOne(
            db,
            sql: "SELECT COUNT(*) FROM key_material WHERE key_id = ? AND rotation_type = 'ON_DEMAND'",
            arguments: [keyID.description]
        ) ?? 0
    }

    /// The key an alias points at, or `nil`.
    static func aliasTarget(_ db: Database, name: String) throws -> KeyID? {
        try String.fetchOne(db, sql: "SELECT key_id FROM alias WHERE name = ?", arguments: [name]).flatMap(KeyID.init)
    }

    /// Inserts an alias.
    static func insertAlias(_ db: Database, name: String, keyID: KeyID, date: Date) throws {
        guard try Self.aliasTarget(db, name: name) == nil else {
            throw KMSError(code: .alreadyExists, message: "alias \(name) already exists")
        }
        try db.execute(
            sql: "INSERT INTO alias (name, key_id, creation_date, last_updated_date) VALUES (?, ?, ?, ?)",
            arguments: [name, keyID.description, Self.milliseconds(date), Self.milliseconds(date)]
        )
    }

    /// Points an existing alias at another key.
    static func retargetAlias(_ db: Database, name: String, keyID: KeyID, date: Date) throws {
        try db.execute(
            sql: "UPDATE alias SET key_id = ?, last_updated_date = ? WHERE name = ?",
            arguments: [keyID.description, Self.milliseconds(date), name]
        )
    }

    /// Deletes an alias.
    static func removeAlias(_ db: Database, name: String) throws {
        try db.execute(sql: "DELETE FROM alias WHERE name = ?", arguments: [name])
    }

    /// Aliases of customer-managed keys (optionally of one key), ordered by name, for paging.
    static func aliases(_ db: Database, keyID: KeyID?, after: String?, limit: Int) throws -> [KeyAlias] {
        var sql = """
            SELECT alias.name, alias.key_id, alias.creation_date, alias.last_updated_date FROM alias
            JOIN kms_key ON kms_key.id = alias.key_id
            WHERE kms_key.kind = 'CUSTOMER_MANAGED' AND alias.name > ?
            """
        var arguments: StatementArguments = [after ?? ""]
        if let keyID {
            sql += " AND alias.key_id = ?"
            arguments += [keyID.description]
        }
        sql += " ORDER BY alias.name LIMIT ?"
        arguments += [limit]
        return try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
            guard let keyID = KeyID(row["key_id"] as String) else { return nil }
            return KeyAlias(
                aliasName: row["name"],
                targetKeyID: keyID,
                creationDate: Self.date(milliseconds: row["creation_date"]),
                lastUpdatedDate: Self.date(milliseconds: row["last_updated_date"])
            )
        }
    }

    /// Whether a key with this id existed and was deleted at the end of its waiting period: its
    /// `DeleteKey` audit event is the tombstone (the audit trail is append-only).
    static func wasDeleted(_ db: Database, _ keyID: KeyID) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: "SELECT EXISTS (SELECT 1 FROM audit_event WHERE key_id = ? AND event_name = 'DeleteKey')",
            arguments: [keyID.description]
        ) ?? false
    }
}

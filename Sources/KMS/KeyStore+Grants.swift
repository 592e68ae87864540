import Foundation
import GRDB

extension KeyStore {
    /// Inserts a grant and its first token hash. Runs inside the caller's transaction.
    static func insertGrant(_ db: Database, _ grant: Grant, tokenHash: [UInt8]) throws {
        try db.execute(
            sql: """
                INSERT INTO key_grant (id, key_id, name, grantee_principal, retiring_principal, issuing_account,
                    operations, constraint_subset, constraint_equals, creation_date)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                grant.grantID, grant.keyID.description, grant.name, grant.granteePrincipal, grant.retiringPrincipal,
                grant.issuingAccount, grant.operations.map(\.rawValue).joined(separator: ","),
                try grant.constraints.encryptionContextSubset.map(Self.encodeContext),
                try grant.constraints.encryptionContextEquals.map(Self.encodeContext),
                Self.milliseconds(grant.creationDate),
            ]
        )
        try Self.insertGrantToken(db, grantID: grant.grantID, tokenHash: tokenHash)
    }

    /// Records another token for an existing grant (an idempotent `CreateGrant` retry).
    static func insertGrantToken(_ db: Database, grantID: String, tokenHash: [UInt8]) throws {
        try db.execute(
            sql: "INSERT INTO grant_token (token_hash, grant_id) VALUES (?, ?)",
            arguments: [Data(tokenHash), grantID]
        )
    }

    /// The grants of a key, oldest first, starting after `afterGrantID` when paging.
    static func grants(_ db: Database, keyID: KeyID, after afterGrantID: String? = nil, limit: Int? = nil) throws -> [Grant] {
        var sql = "SELECT * FROM key_grant WHERE key_id = ?"
        var arguments: StatementArguments = [keyID.description]
        if let afterGrantID {
            sql += " AND id > ?"
            arguments += [afterGrantID]
        }
        sql += " ORDER BY id"
        if let limit {
            sql += " LIMIT ?"
            arguments += [limit]
        }
        return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.grant(from:))
    }

    /// The grants of a key whose grantee is `principal`: the only ones that can authorise it.
    static func grants(_ db: Database, keyID: KeyID, grantee principal: String) throws -> [Grant] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM key_grant WHERE key_id = ? AND grantee_principal = ?"),
            arguments: [keyID.description, principal]
        ).map(Self.grant(from:))
    }

    /// Grants whose retiring principal is `principal`, across keys, ordered by id.
    static func retirableGrants(_ db: Database, retiringPrincipal principal: String, after: String?, limit: Int) throws -> [Grant] {
        try Row.fetchAll(
            db,
            sql: "SELECT * FROM key_grant WHERE retiring_principal = ? AND id > ? ORDER BY id LIMIT ?",
            arguments: [principal, after ?? "", limit]
        ).map(Self.grant(from:))
    }

    /// One grant by id, or `nil`.
    static func grant(_ db: Database, id: String) throws -> Grant? {
        try Row.fetchOne(db, sql: "SELECT * FROM key_grant WHERE id = ?", arguments: [id]).map(Self.grant(from:))
    }

    /// One grant of a key by name, or `nil`.
    static func grant(_ db: Database, keyID: KeyID, name: String) throws -> Grant? {
        try Row.fetchOne(
            db,
            sql: "SELECT * FROM key_grant WHERE key_id = ? AND name = ?",
            arguments: [keyID.description, name]
        ).map(Self.grant(from:))
    }

    /// The grant a token belongs to, or `nil`.
    static func grantID(_ db: Database, tokenHash: [UInt8]) throws -> String? {
        try String.fetchOne(db, sql: "SELECT grant_id FROM grant_token WHERE token_hash = ?", arguments: [Data(tokenHash)])
    }

    /// How many grants a key has.
    static func grantCount(_ db: Database, keyID: KeyID) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM key_grant WHERE key_id = ?", arguments: [keyID.description]) ?? 0
    }

    /// Deletes a grant and its tokens.
    static func deleteGrant(_ db: Database, id: String) throws {
        try db.execute(sql: "DELETE FROM key_grant WHERE id = ?", arguments: [id])
    }

    private static func grant(from row: Row) throws -> Grant {
        let id: String = row["id"]
        guard let keyID = KeyID(row["key_id"] as String) else {
            throw KMSError.internalFailure("grant \(id) has an unreadable record")
        }
        let operationNames = (row["operations"] as String).split(separator: ",").map(String.init)
        let operations = operationNames.compactMap(GrantOperation.init(rawValue:))
        guard operations.count == operationNames.count else {
            throw KMSError.internalFailure("grant \(id) has an unreadable record")
        }
        let subset: String? = row["constraint_subset"]
        let equals: String? = row["constraint_equals"]
        return Grant(
            grantID: id,
            keyID: keyID,
            name: row["name"],
            granteePrincipal: row["grantee_principal"],
            retiringPrincipal: row["retiring_principal"],
            issuingAccount: row["issuing_account"],
            operations: operations,
            constraints: GrantConstraints(
                encryptionContextSubset: try subset.map(Self.decodeContext),
                encryptionContextEquals: try equals.map(Self.decodeContext)
            ),
            creationDate: Self.date(milliseconds: row["creation_date"])
        )
    }

    static func encodeContext(_ pairs: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(pairs), as: UTF8.self)
    }

    static func decodeContext(_ json: String) throws -> [String: String] {
        try JSONDecoder().decode([String: String].self, from: Data(json.utf8))
    }
}

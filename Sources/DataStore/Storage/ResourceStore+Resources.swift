import Foundation
import GRDB

extension ResourceStore {
    /// The current version of a resource: its number, whether it is a deletion, and when.
    public struct CurrentVersion: Hashable, Sendable {
        /// The version number.
        public let versionID: Int
        /// Whether the current version is a deletion.
        public let isDeleted: Bool
        /// `meta.lastUpdated`, in milliseconds since 1970.
        public let lastUpdated: Int64
    }

    /// The current version of a resource, or `nil` if it never existed.
    public func currentVersion(datastoreID: String, resourceType: FHIRResourceType, resourceID: String) throws -> CurrentVersion? {
        try self.database.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT version_id, deleted, last_updated FROM resource WHERE datastore_id = ? AND resource_type = ? AND resource_id = ?",
                arguments: [datastoreID, resourceType.name, resourceID]
            ).map { CurrentVersion(versionID: $0["version_id"], isDeleted: $0["deleted"], lastUpdated: $0["last_updated"]) }
        }
    }

    /// Writes resource versions and their tokens, all or nothing, in one transaction.
    ///
    /// - Throws: ``DataStoreError`` `versionConflict` when a resource's current version is not
    ///   `versionID - 1` (nothing is written), `datastoreNotActive` or `notFound` for the
    ///   datastore, `invalidRequest` for a token of a parameter name that is empty.
    public func commit(_ writes: [ResourceWrite]) throws {
        try self.database.write { db in
            var checked: Set<String> = []
            for write in writes {
                if checked.insert(write.datastoreID).inserted {
                    try Self.requireStatus(db, id: write.datastoreID, in: [.active])
                }
                try Self.apply(write, db)
            }
        }
    }

    static func apply(_ write: ResourceWrite, _ db: Database) throws {
        let key: StatementArguments = [write.datastoreID, write.resourceType.name, write.resourceID]
        // Cached statements: the writer runs these for every write, so they are prepared once
        // per connection rather than parsed again each time.
        let current = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT resource_key, version_id FROM resource WHERE datastore_id = ? AND resource_type = ? AND resource_id = ?"),
            arguments: key
        ).map { (resourceKey: $0[0] as Int64, versionID: $0[1] as Int) }
        guard (current?.versionID ?? 0) == write.versionID - 1 else {
            throw DataStoreError(
                code: .versionConflict,
                message: "\(write.resourceType.name)/\(write.resourceID) is at version \(current.map { String($0.versionID) } ?? "none"), "
                    + "so version \(write.versionID) cannot be written",
                resource: "\(write.resourceType.name)/\(write.resourceID)"
            )
        }
        let deleted: Bool
        let sealed: Data?
        switch write.content {
        case .sealed(let resource): (deleted, sealed) = (false, Data(resource.serialized()))
        case .deleted: (deleted, sealed) = (true, nil)
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO resource_version (datastore_id, resource_type, resource_id, version_id, last_updated, deleted, sealed)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: key + [write.versionID, write.lastUpdated, deleted, sealed])
        let resourceKey: Int64
        if let current {
            resourceKey = current.resourceKey
            try db.cachedStatement(sql: "UPDATE resource SET version_id = ?, deleted = ?, last_updated = ? WHERE resource_key = ?")
                .execute(arguments: [write.versionID, deleted, write.lastUpdated, resourceKey])
            try db.cachedStatement(sql: "DELETE FROM search_token WHERE resource_key = ?").execute(arguments: [resourceKey])
        } else {
            // A first version: a new key, one past the largest (write order), and no tokens to replace.
            try db.cachedStatement(
                sql: """
                    INSERT INTO resource (datastore_id, resource_type, resource_id, version_id, deleted, last_updated)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: key + [write.versionID, deleted, write.lastUpdated])
            resourceKey = db.lastInsertedRowID
        }
        guard !deleted else { return }
        guard write.tokens.allSatisfy({ !$0.parameter.isEmpty }) else {
            throw DataStoreError(code: .invalidRequest, message: "an index token needs a parameter name")
        }
        try Self.insertTokens(write.tokens, resourceKey: resourceKey, db)
    }

    /// The most tokens one `INSERT` statement carries (two bound values each, plus the resource key).
    static let tokensPerInsert = 128

    /// Inserts a resource's tokens with multi-row `INSERT`s of at most ``tokensPerInsert`` rows:
    /// one statement execution per chunk instead of one per token. The resource key is bound once
    /// (`?1`); the statement of each chunk size is cached.
    static func insertTokens(_ tokens: [IndexToken], resourceKey: Int64, _ db: Database) throws {
        var start = tokens.startIndex
        while start < tokens.endIndex {
            let chunk = tokens[start..<min(start + Self.tokensPerInsert, tokens.endIndex)]
            let rows = (0..<chunk.count).map { "(?\(2 + 2 * $0), ?\(3 + 2 * $0), ?1)" }.joined(separator: ", ")
            var arguments: StatementArguments = [resourceKey]
            for token in chunk { arguments += [token.parameter, Data(token.bytes)] }
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO search_token (parameter, token, resource_key) VALUES \(rows)")
                .execute(arguments: arguments)
            start = chunk.endIndex
        }
    }

    /// One version of a resource, or its current version when `versionID` is `nil`.
    ///
    /// - Throws: ``DataStoreError`` `notFound` when the resource or version does not exist,
    ///   `datastoreNotActive` unless the datastore is `ACTIVE`.
    public func read(datastoreID: String, resourceType: FHIRResourceType, resourceID: String, versionID: Int? = nil) throws -> StoredVersion {
        try self.database.read { db in
            try Self.requireStatus(db, id: datastoreID, in: [.active])
            let key: StatementArguments = [datastoreID, resourceType.name, resourceID]
            let version: Int
            if let versionID {
                version = versionID
            } else {
                guard let current = try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT version_id FROM resource WHERE datastore_id = ? AND resource_type = ? AND resource_id = ?"),
                    arguments: key
                ) else {
                    throw DataStoreError(code: .notFound, message: "\(resourceType.name)/\(resourceID) not found")
                }
                version = current
            }
            guard let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT resource_type, resource_id, version_id, last_updated, sealed FROM resource_version
                        WHERE datastore_id = ? AND resource_type = ? AND resource_id = ? AND version_id = ?
                        """),
                arguments: key + [version]
            ) else {
                throw DataStoreError(code: .notFound, message: "\(resourceType.name)/\(resourceID) version \(version) not found")
            }
            return try Self.storedVersion(row)
        }
    }

    /// Versions, newest first: of one resource (type and id), of one type, or of the whole
    /// datastore; optionally only those updated at or after `since`.
    ///
    /// - Throws: ``DataStoreError`` `datastoreNotActive` unless the datastore is `ACTIVE`.
    public func history(
        datastoreID: String, resourceType: FHIRResourceType? = nil, resourceID: String? = nil, since: Int64? = nil, limit: Int = 100
    ) throws -> [StoredVersion] {
        try self.database.read { db in
            try Self.requireStatus(db, id: datastoreID, in: [.active])
            var conditions = ["datastore_id = ?"]
            var arguments: StatementArguments = [datastoreID]
            if let resourceType { conditions.append("resource_type = ?"); arguments += [resourceType.name] }
            if let resourceID { conditions.append("resource_id = ?"); arguments += [resourceID] }
            if let since { conditions.append("last_updated >= ?"); arguments += [since] }
            arguments += [limit]
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT resource_type, resource_id, version_id, last_updated, sealed FROM resource_version
                    WHERE \(conditions.joined(separator: " AND "))
                    ORDER BY last_updated DESC, rowid DESC LIMIT ?
                    """,
                arguments: arguments
            ).map(Self.storedVersion)
        }
    }

    static func storedVersion(_ row: Row) throws -> StoredVersion {
        let sealed: Data? = row["sealed"]
        return StoredVersion(
            resourceType: FHIRResourceType(row["resource_type"])!,
            resourceID: row["resource_id"],
            versionID: row["version_id"],
            lastUpdated: row["last_updated"],
            sealed: try sealed.map { try SealedResource(serialized: Array($0)) }
        )
    }
}

import Foundation
import GRDB
import Logging

extension ResourceStore {
    /// Creates a datastore in `CREATING`, or returns the one created earlier with the same
    /// client token.
    ///
    /// - Returns: The record and whether this call created it.
    /// - Throws: ``DataStoreError`` `alreadyExists` when the id is taken, or the client token was
    ///   used for a datastore with another name or encryption configuration.
    @discardableResult
    public func createDatastore(_ new: NewDatastore) throws -> (record: DatastoreRecord, created: Bool) {
        try self.database.write { db in
            if let token = new.clientToken,
                let existingID = try String.fetchOne(db, sql: "SELECT id FROM datastore WHERE client_token = ?", arguments: [token])
            {
                let existing = try Self.fetchDatastore(db, id: existingID)!
                guard existing.name == new.name, existing.encryption == new.encryption else {
                    throw DataStoreError(code: .alreadyExists, message: "client token already used for datastore \(existingID) with other parameters")
                }
                return (existing, false)
            }
            guard try Self.fetchDatastore(db, id: new.id) == nil else {
                throw DataStoreError(code: .alreadyExists, message: "datastore \(new.id) already exists")
            }
            try db.execute(
                sql: """
                    INSERT INTO datastore (id, name, type_version, status, created_at, cmk_type, kms_key_arn, client_token)
                    VALUES (?, ?, 'R4', 'CREATING', ?, ?, ?, ?)
                    """,
                arguments: [
                    new.id, new.name, Self.milliseconds(new.createdAt), new.encryption.keyType.rawValue,
                    new.encryption.kmsKeyARN, new.clientToken,
                ]
            )
            for (key, value) in new.tags {
                try db.execute(sql: "INSERT INTO datastore_tag (datastore_id, tag_key, tag_value) VALUES (?, ?, ?)", arguments: [new.id, key, value])
            }
            return (try Self.fetchDatastore(db, id: new.id)!, true)
        }
    }

    /// One datastore.
    ///
    /// - Throws: ``DataStoreError`` `notFound`.
    public func datastore(id: String) throws -> DatastoreRecord {
        try self.database.read { db in
            guard let record = try Self.fetchDatastore(db, id: id) else {
                throw DataStoreError(code: .notFound, message: "datastore \(id) not found")
            }
            return record
        }
    }

    /// Datastores in creation order, filtered, one page at a time.
    ///
    /// - Parameters:
    ///   - name: Only datastores with exactly this name.
    ///   - status: Only datastores in this state.
    ///   - createdAfter: Only datastores created after this time.
    ///   - createdBefore: Only datastores created before this time.
    ///   - limit: The page size.
    ///   - afterID: The last id of the previous page.
    public func listDatastores(
        name: String? = nil, status: DatastoreStatus? = nil, createdAfter: Date? = nil, createdBefore: Date? = nil,
        limit: Int = 100, afterID: String? = nil
    ) throws -> [DatastoreRecord] {
        try self.database.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let name { conditions.append("name = ?"); arguments += [name] }
            if let status { conditions.append("status = ?"); arguments += [status.rawValue] }
            if let createdAfter { conditions.append("created_at > ?"); arguments += [Self.milliseconds(createdAfter)] }
            if let createdBefore { conditions.append("created_at < ?"); arguments += [Self.milliseconds(createdBefore)] }
            if let afterID,
                let createdAt = try Int64.fetchOne(db, sql: "SELECT created_at FROM datastore WHERE id = ?", arguments: [afterID])
            {
                conditions.append("(created_at, id) > (?, ?)")
                arguments += [createdAt, afterID]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [limit]
            let ids = try String.fetchAll(db, sql: "SELECT id FROM datastore \(filter) ORDER BY created_at, id LIMIT ?", arguments: arguments)
            return try ids.map { try Self.fetchDatastore(db, id: $0)! }
        }
    }

    /// Moves a `CREATING` datastore to `ACTIVE` with its wrapped index key.
    ///
    /// - Throws: ``DataStoreError`` `notFound`, or `datastoreNotActive` when it is not `CREATING`.
    public func activateDatastore(id: String, wrappedIndexKey: WrappedIndexKey) throws {
        try self.transition(id: id, from: [.creating], to: .active, extraSQL: ", wrapped_index_key = ?", extraArguments: [Data(wrappedIndexKey.serialized())])
    }

    /// Moves a `CREATING` datastore to `CREATE_FAILED` with the cause.
    public func markCreateFailed(id: String, cause: String) throws {
        try self.transition(id: id, from: [.creating], to: .createFailed, extraSQL: ", error_cause = ?", extraArguments: [cause])
    }

    /// Moves a datastore to `DELETING`: from then on it cannot be read or written.
    public func markDeleting(id: String) throws {
        try self.transition(id: id, from: [.active, .createFailed, .creating], to: .deleting)
    }

    /// Destroys a `DELETING` datastore's data — every resource version, current pointer, index
    /// token and its wrapped index key — and marks it `DELETED`, in one transaction.
    ///
    /// Rows are overwritten on deletion (`secure_delete`), and without the index key and the
    /// data keys' wrapping keys the sealed copies left in old WAL frames are unreadable.
    public func destroyDatastore(id: String) throws {
        try self.database.write { db in
            try Self.requireStatus(db, id: id, in: [.deleting])
            try db.execute(
                sql: "DELETE FROM search_token WHERE resource_key IN (SELECT resource_key FROM resource WHERE datastore_id = ?)", arguments: [id])
            for table in ["resource", "resource_version", "datastore_tag"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE datastore_id = ?", arguments: [id])
            }
            try db.execute(sql: "UPDATE datastore SET status = 'DELETED', wrapped_index_key = NULL WHERE id = ?", arguments: [id])
        }
        self.logger.info("destroyed datastore", metadata: ["datastore": "\(id)"])
    }

    /// Adds or replaces tags.
    public func tagDatastore(id: String, tags: [String: String]) throws {
        try self.database.write { db in
            try Self.requireStatus(db, id: id, in: [.creating, .active])
            for (key, value) in tags {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO datastore_tag (datastore_id, tag_key, tag_value) VALUES (?, ?, ?)",
                    arguments: [id, key, value]
                )
            }
        }
    }

    /// Removes tags by key.
    public func untagDatastore(id: String, keys: [String]) throws {
        try self.database.write { db in
            try Self.requireStatus(db, id: id, in: [.creating, .active])
            for key in keys {
                try db.execute(sql: "DELETE FROM datastore_tag WHERE datastore_id = ? AND tag_key = ?", arguments: [id, key])
            }
        }
    }

    private func transition(
        id: String, from: Set<DatastoreStatus>, to: DatastoreStatus, extraSQL: String = "", extraArguments: StatementArguments = []
    ) throws {
        try self.database.write { db in
            try Self.requireStatus(db, id: id, in: from)
            try db.execute(sql: "UPDATE datastore SET status = ?\(extraSQL) WHERE id = ?", arguments: [to.rawValue] + extraArguments + [id])
        }
    }

    @discardableResult
    static func requireStatus(_ db: Database, id: String, in allowed: Set<DatastoreStatus>) throws -> DatastoreStatus {
        guard let raw = try String.fetchOne(db.cachedStatement(sql: "SELECT status FROM datastore WHERE id = ?"), arguments: [id]) else {
            throw DataStoreError(code: .notFound, message: "datastore \(id) not found")
        }
        let status = DatastoreStatus(rawValue: raw)!
        guard allowed.contains(status) else {
            throw DataStoreError(code: .datastoreNotActive, message: "datastore \(id) is \(raw)")
        }
        return status
    }

    static func fetchDatastore(_ db: Database, id: String) throws -> DatastoreRecord? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM datastore WHERE id = ?"), arguments: [id]) else { return nil }
        var tags: [String: String] = [:]
        for tag in try Row.fetchAll(db.cachedStatement(sql: "SELECT tag_key, tag_value FROM datastore_tag WHERE datastore_id = ?"), arguments: [id]) {
            tags[tag["tag_key"]] = tag["tag_value"]
        }
        let wrapped: Data? = row["wrapped_index_key"]
        return DatastoreRecord(
            id: row["id"],
            name: row["name"],
            typeVersion: row["type_version"],
            status: DatastoreStatus(rawValue: row["status"])!,
            errorCause: row["error_cause"],
            createdAt: Self.date(milliseconds: row["created_at"]),
            encryption: EncryptionConfiguration(keyType: row["cmk_type"], kmsKeyARN: row["kms_key_arn"])!,
            clientToken: row["client_token"],
            tags: tags,
            wrappedIndexKey: try wrapped.map { try WrappedIndexKey(serialized: Array($0)) }
        )
    }
}

import GRDB

extension ResourceStore {
    /// Adds tags to a datastore or replaces the values of keys it already has, all or nothing.
    ///
    /// The limit is checked inside the write transaction, so concurrent calls cannot together
    /// go beyond it.
    ///
    /// - Parameter maximumCount: The most tags the datastore may have afterwards.
    /// - Throws: ``DataStoreError`` `notFound` when the datastore does not exist or is deleted
    ///   (or being deleted), `invalidRequest` when the datastore would have more than
    ///   `maximumCount` tags (nothing is changed).
    public func addTags(datastoreID: String, tags: [(key: String, value: String)], maximumCount: Int) throws {
        try self.database.write { db in
            try Self.requireTaggable(db, id: datastoreID)
            let existing = Set(
                try String.fetchAll(db, sql: "SELECT tag_key FROM datastore_tag WHERE datastore_id = ?", arguments: [datastoreID]))
            let total = existing.union(tags.map(\.key)).count
            guard total <= maximumCount else {
                throw DataStoreError(
                    code: .invalidRequest,
                    message: "datastore \(datastoreID) would have \(total) tags; at most \(maximumCount) are allowed")
            }
            for (key, value) in tags {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO datastore_tag (datastore_id, tag_key, tag_value) VALUES (?, ?, ?)",
                    arguments: [datastoreID, key, value])
            }
        }
    }

    /// Removes tags by key; keys the datastore does not have are ignored.
    ///
    /// - Throws: ``DataStoreError`` `notFound` when the datastore does not exist or is deleted.
    public func removeTags(datastoreID: String, keys: [String]) throws {
        try self.database.write { db in
            try Self.requireTaggable(db, id: datastoreID)
            for key in keys {
                try db.execute(sql: "DELETE FROM datastore_tag WHERE datastore_id = ? AND tag_key = ?", arguments: [datastoreID, key])
            }
        }
    }

    /// A datastore's tags, sorted by key.
    ///
    /// - Throws: ``DataStoreError`` `notFound` when the datastore does not exist or is deleted.
    public func tags(datastoreID: String) throws -> [(key: String, value: String)] {
        try self.database.read { db in
            try Self.requireTaggable(db, id: datastoreID)
            return try Row.fetchAll(
                db, sql: "SELECT tag_key, tag_value FROM datastore_tag WHERE datastore_id = ? ORDER BY tag_key", arguments: [datastoreID]
            ).map { (key: $0["tag_key"], value: $0["tag_value"]) }
        }
    }

    /// A datastore that exists and is not (being) deleted.
    private static func requireTaggable(_ db: Database, id: String) throws {
        guard let raw = try String.fetchOne(db, sql: "SELECT status FROM datastore WHERE id = ?", arguments: [id]) else {
            throw DataStoreError(code: .notFound, message: "datastore \(id) not found")
        }
        guard raw != DatastoreStatus.deleted.rawValue, raw != DatastoreStatus.deleting.rawValue else {
            throw DataStoreError(code: .notFound, message: "datastore \(id) is \(raw)")
        }
    }
}

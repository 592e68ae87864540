import Foundation
import GRDB

extension ResourceStore {
    /// The ids of live (not deleted) resources of a type that match every clause (each clause:
    /// any of its tokens), oldest update first, one page at a time.
    ///
    /// - Throws: ``DataStoreError`` `datastoreNotActive` unless the datastore is `ACTIVE`.
    public func search(
        datastoreID: String, resourceType: FHIRResourceType, clauses: [SearchClause], limit: Int = 100, offset: Int = 0
    ) throws -> [String] {
        guard clauses.allSatisfy({ !$0.tokens.isEmpty }) else { return [] }
        return try self.database.read { db in
            try Self.requireStatus(db, id: datastoreID, in: [.active])
            var sql = "SELECT resource_id FROM resource WHERE datastore_id = ? AND resource_type = ? AND deleted = 0"
            var arguments: StatementArguments = [datastoreID, resourceType.name]
            for clause in clauses {
                let placeholders = Array(repeating: "?", count: clause.tokens.count).joined(separator: ", ")
                sql += """
                     AND resource_key IN (SELECT resource_key FROM search_token WHERE parameter = ? AND token IN (\(placeholders)))
                    """
                arguments += [clause.parameter.name]
                for token in clause.tokens { arguments += [Data(token.bytes)] }
            }
            sql += " ORDER BY last_updated, resource_id LIMIT ? OFFSET ?"
            arguments += [limit, offset]
            return try String.fetchAll(db, sql: sql, arguments: arguments)
        }
    }
    /// Live resources of a type matching `filter`, in `sort` order, starting after `cursor`:
    /// their ids and `lastUpdated`, at most `limit` of them.
    ///
    /// - Throws: ``DataStoreError`` `datastoreNotActive` unless the datastore is `ACTIVE`.
    public func searchCandidates(
        datastoreID: String, resourceType: FHIRResourceType, filter: SearchFilter, sort: SearchSort, after cursor: SearchCursor?, limit: Int
    ) throws -> [SearchCursor] {
        guard !filter.matchesNothing else { return [] }
        return try self.database.read { db in
            try Self.requireStatus(db, id: datastoreID, in: [.active])
            var (sql, arguments) = Self.filterSQL(
                select: "SELECT resource_id, last_updated", datastoreID: datastoreID, resourceType: resourceType, filter: filter)
            if let cursor {
                let comparison = sort == .ascending ? ">" : "<"
                sql += " AND (last_updated \(comparison) ? OR (last_updated = ? AND resource_id \(comparison) ?))"
                arguments += [cursor.lastUpdated, cursor.lastUpdated, cursor.resourceID]
            }
            let direction = sort == .ascending ? "ASC" : "DESC"
            sql += " ORDER BY last_updated \(direction), resource_id \(direction) LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                SearchCursor(lastUpdated: $0["last_updated"], resourceID: $0["resource_id"])
            }
        }
    }

    /// The number of live resources of a type matching `filter`.
    ///
    /// - Throws: ``DataStoreError`` `datastoreNotActive` unless the datastore is `ACTIVE`.
    public func count(datastoreID: String, resourceType: FHIRResourceType, filter: SearchFilter) throws -> Int {
        guard !filter.matchesNothing else { return 0 }
        return try self.database.read { db in
            try Self.requireStatus(db, id: datastoreID, in: [.active])
            let (sql, arguments) = Self.filterSQL(select: "SELECT COUNT(*)", datastoreID: datastoreID, resourceType: resourceType, filter: filter)
            return try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0
        }
    }

    private static func filterSQL(
        select: String, datastoreID: String, resourceType: FHIRResourceType, filter: SearchFilter
    ) -> (String, StatementArguments) {
        var sql = select + " FROM resource WHERE datastore_id = ? AND resource_type = ? AND deleted = 0"
        var arguments: StatementArguments = [datastoreID, resourceType.name]
        if let ids = filter.ids {
            sql += " AND resource_id IN (\(Array(repeating: "?", count: ids.count).joined(separator: ", ")))"
            for id in ids.sorted() { arguments += [id] }
        }
        for alternatives in filter.lastUpdated {
            let parts = alternatives.map { $0.sql(column: "last_updated") }
            sql += " AND (" + parts.map(\.sql).joined(separator: " OR ") + ")"
            for part in parts { for value in part.arguments { arguments += [value] } }
        }
        if let notUpdatedAfter = filter.notUpdatedAfter {
            sql += " AND last_updated <= ?"
            arguments += [notUpdatedAfter]
        }
        for clause in filter.clauses {
            let placeholders = Array(repeating: "?", count: clause.tokens.count).joined(separator: ", ")
            sql += """
                 AND resource_key IN (SELECT resource_key FROM search_token WHERE parameter = ? AND token IN (\(placeholders)))
                """
            arguments += [clause.parameter.name]
            for token in clause.tokens.sorted(by: { $0.bytes.lexicographicallyPrecedes($1.bytes) }) { arguments += [Data(token.bytes)] }
        }
        return (sql, arguments)
    }
}

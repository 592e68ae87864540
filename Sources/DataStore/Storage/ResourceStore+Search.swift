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
            var sql = "SELECT resource_id FROM current_resource WHERE datastore_id = ? AND resource_type = ? AND deleted = 0"
            var arguments: StatementArguments = [datastoreID, resourceType.name]
            for clause in clauses {
                let placeholders = Array(repeating: "?", count: clause.tokens.count).joined(separator: ", ")
                sql += """
                     AND resource_id IN (SELECT resource_id FROM index_token
                        WHERE datastore_id = ? AND resource_type = ? AND parameter = ? AND token IN (\(placeholders)))
                    """
                arguments += [datastoreID, resourceType.name, clause.parameter.name]
                for token in clause.tokens { arguments += [Data(token.bytes)] }
            }
            sql += " ORDER BY last_updated, resource_id LIMIT ? OFFSET ?"
            arguments += [limit, offset]
            return try String.fetchAll(db, sql: sql, arguments: arguments)
        }
    }
}

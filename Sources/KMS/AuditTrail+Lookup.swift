import Foundation
import GRDB

extension AuditTrail {
    /// Whose events a lookup may see.
    public enum Audience: Hashable, Sendable {
        /// A customer: every event except those about service-owned keys.
        case customer
        /// A registered service principal: only the events about its own service-owned keys.
        case service(String)
        /// The operator (`keylake audit` on the server): everything.
        case `operator`
    }

    /// Events matching `filter` that `audience` may see, newest first.
    ///
    /// - Parameters:
    ///   - maxResults: Page size, at least 1.
    ///   - nextToken: The token from the previous page, or `nil` for the first.
    /// - Throws: ``KMSError`` `InvalidMarkerException` for a token this trail did not hand out.
    public func lookupEvents(
        _ filter: AuditLookupFilter,
        audience: Audience,
        maxResults: Int,
        nextToken: String? = nil
    ) throws -> AuditLookupPage {
        try self.database.read { db in
            try self.lookupEvents(db, filter, audience: audience, maxResults: maxResults, nextToken: nextToken)
        }
    }

    /// The body of ``lookupEvents(_:audience:maxResults:nextToken:)`` on an open connection.
    func lookupEvents(
        _ db: Database,
        _ filter: AuditLookupFilter,
        audience: Audience,
        maxResults: Int,
        nextToken: String?
    ) throws -> AuditLookupPage {
        var conditions = [String]()
        var arguments = StatementArguments()
        switch audience {
        case .customer:
            conditions.append("owner_service IS NULL")
        case .service(let service):
            conditions.append("owner_service = ?")
            arguments += [service]
        case .operator:
            break
        }
        if let nextToken {
            guard let before = Int64(nextToken), before > 0 else {
                throw KMSError(code: .invalidMarker, message: "nextToken is not one this service returned")
            }
            conditions.append("sequence < ?")
            arguments += [before]
        }
        if let name = filter.eventName {
            conditions.append("event_name = ?")
            arguments += [name]
        }
        if let keyID = filter.keyID {
            conditions.append("key_id = ?")
            arguments += [keyID.description]
        }
        if let eventID = filter.eventID {
            conditions.append("event_id = ?")
            arguments += [eventID]
        }
        if let principal = filter.principal {
            conditions.append("principal = ?")
            arguments += [principal]
        }
        if let start = filter.startTime {
            conditions.append("event_time >= ?")
            arguments += [KeyStore.milliseconds(start)]
        }
        if let end = filter.endTime {
            conditions.append("event_time < ?")
            arguments += [KeyStore.milliseconds(end)]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let limit = max(1, maxResults)
        let sql = """
            SELECT sequence, event_id, event_name, event_time, principal, key_id, document FROM audit_event
            \(whereClause) ORDER BY sequence DESC LIMIT ?
            """
        arguments += [limit + 1]
        let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
        let records = rows.prefix(limit).map { row in
            AuditRecord(
                sequence: row["sequence"],
                eventID: row["event_id"],
                eventName: row["event_name"],
                eventTime: KeyStore.date(milliseconds: row["event_time"]),
                principal: row["principal"],
                keyID: (row["key_id"] as String?).flatMap(KeyID.init),
                document: row["document"]
            )
        }
        let next = rows.count > limit ? records.last.map { String($0.sequence) } : nil
        return AuditLookupPage(events: Array(records), nextToken: next)
    }

    /// Writes every event, oldest first, as JSON lines (one CloudTrail event per line) to `path`.
    ///
    /// - Returns: The number of events written.
    /// - Throws: ``KMSError`` `KMSInternalException` if the file cannot be written; GRDB errors
    ///   if the database cannot be read.
    @discardableResult
    public func exportJSONLines(to path: String) throws -> Int {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw KMSError.internalFailure("cannot create \(path)")
        }
        defer { try? handle.close() }
        return try self.database.read { db in
            var count = 0
            var buffer = Data()
            let documents = try String.fetchCursor(db, sql: "SELECT document FROM audit_event ORDER BY sequence")
            while let document = try documents.next() {
                buffer.append(contentsOf: Array(document.utf8))
                buffer.append(UInt8(ascii: "\n"))
                count += 1
                if buffer.count >= 1 << 16 {
                    try handle.write(contentsOf: buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            try handle.write(contentsOf: buffer)
            try handle.synchronize()
            return count
        }
    }
}

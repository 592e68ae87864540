import Foundation
import GRDB
import Logging

/// The durable store of datastores, sealed resource versions and blind index tokens, on SQLite
/// through GRDB.
///
/// WAL mode with `synchronous=FULL`: a committed write survives power loss. `secure_delete` is
/// on, so deleted rows are overwritten rather than left in free pages. Savepoint journals and
/// other temporary data stay in memory (`temp_store=MEMORY`). Nothing here is
/// plaintext PHI: resources are stored sealed, search values as blind tokens. A resource
/// version and its tokens are written in one transaction, so a failure leaves nothing
/// half-written. Concurrent writers share transactions (``groupCommit(_:)``), so one fsync
/// serves many of them.
public final class ResourceStore: Sendable {
    let database: DatabasePool
    let logger: Logger
    let writer: GroupCommitWriter
    /// The settings the store was opened with.
    public let settings: ResourceStoreSettings

    /// Opens (creating if needed) the store at `path` and migrates it to the current schema.
    ///
    /// - Throws: ``DataStoreError`` `invalidRequest` for settings that are not all positive;
    ///   GRDB's `DatabaseError` when the file cannot be opened or migrated.
    public init(
        path: String, settings: ResourceStoreSettings = ResourceStoreSettings(), logger: Logger = Logger(label: "keylake.datastore.store")
    ) throws {
        try settings.validate()
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // WAL is DatabasePool's default; FULL makes every commit durable, not just consistent.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // Each group-commit member runs in a savepoint, and SQLite keeps the pre-image of
            // every page a savepoint changes in a sub-journal: a temporary file in /var/tmp by
            // default, as many bytes again as the write-ahead log. In memory it costs no system
            // calls and leaves no page images outside the store's own files.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        self.database = try DatabasePool(path: path, configuration: configuration)
        // DatabasePool's WAL set-up sets `synchronous = NORMAL` on the writer after
        // `prepareDatabase`; the writer is the connection that commits, so set FULL again on it.
        // It also gets the longer checkpoint interval and the larger page cache (see the settings).
        try self.database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(settings.walAutoCheckpointPages)")
            try db.execute(sql: "PRAGMA cache_size = -\(settings.writerCacheKiB)")
        }
        self.logger = logger
        self.settings = settings
        self.writer = GroupCommitWriter(database: self.database, maximumBatchSize: settings.maximumGroupCommitBatchSize)
        try Self.migrator.migrate(self.database)
    }

    /// Where the database lives: the main file; SQLite keeps `-wal` and `-shm` beside it.
    public var path: String { self.database.path }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

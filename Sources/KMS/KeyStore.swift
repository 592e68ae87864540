import Foundation
import GRDB
import Logging

/// The durable store of keys, their wrapped material, policies, aliases, tags and grants, on
/// SQLite through GRDB.
///
/// The database runs in WAL mode with `synchronous=FULL`, so a committed write survives power
/// loss. Key material is stored only wrapped under the root key (see ``MaterialWrapper``).
/// Opening checks the root key against the check value recorded when the store was created,
/// so a wrong root key stops start-up with ``RootKeyError/Code/mismatch``.
public final class KeyStore: Sendable {
    static let rootKeyCheckName = "root-key-check-value"

    let database: DatabasePool
    let wrapper: MaterialWrapper
    let clock: any WallClock
    let logger: Logger
    let cache: DecodedKeyCache
    /// The current keys, policies, aliases, grants and material in memory; every change made
    /// through this store or ``KeyService`` empties it (see ``KeyDirectory``).
    let directory: KeyDirectory
    /// This process's exclusive hold on the store (see ``KeyStoreLock``), until ``close()``.
    let lock: KeyStoreLock

    /// Where key ARNs say the keys live.
    public let identity: KeyServiceIdentity

    /// The limits this store enforces.
    public let limits: KeyStoreLimits

    /// Opens (creating if needed) the key store at `path` and migrates it to the current schema.
    ///
    /// - Parameters:
    ///   - path: The SQLite database file.
    ///   - rootKey: The root key; it must be the one the store was created with.
    ///   - identity: Partition, region and account for ARNs.
    ///   - clock: The time source for creation, deletion and rotation dates.
    ///   - limits: The limits to enforce.
    ///   - logger: Receives lifecycle messages (never key material).
    /// The store's lock (`<path>.lock`, see ``KeyStoreLock``) is taken first and held until
    /// ``close()`` or deinitialisation: a store that another `kmsd`, a root-key rotation or
    /// another open in this process holds is refused before anything is read or written.
    ///
    /// - Throws: ``KeyStoreLockError`` `inUse` when the store is held elsewhere, `unavailable`
    ///   when its lock file cannot be made; ``RootKeyError`` `mismatch` for a wrong root key;
    ///   GRDB's `DatabaseError` when the file cannot be opened or migrated.
    public init(
        path: String,
        rootKey: RootKey,
        identity: KeyServiceIdentity,
        clock: any WallClock = SystemWallClock(),
        limits: KeyStoreLimits = KeyStoreLimits(),
        logger: Logger = Logger(label: "keylake.kms.keystore")
    ) throws {
        // An existing store is checked against the root key through a read-only connection
        // first, so a wrong key is refused before anything could write to the store (opening a
        // pool for writing may checkpoint a left-over WAL, and migrations would run).
        self.lock = try KeyStoreLock.acquire(forStoreAt: path, holder: "kmsd")
        try Self.verifyRootKeyIfStoreExists(path: path, rootKey: rootKey)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // WAL is DatabasePool's default; FULL makes every commit durable, not just consistent.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Crypto-shredding: deleted material is overwritten, not left in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        self.database = try DatabasePool(path: path, configuration: configuration)
        // DatabasePool's WAL set-up sets `synchronous = NORMAL` on the writer after
        // `prepareDatabase`; the writer is the connection that commits, so set FULL again on it.
        try self.database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        self.wrapper = MaterialWrapper(rootKey: rootKey)
        self.clock = clock
        self.logger = logger
        self.identity = identity
        self.limits = limits
        self.cache = DecodedKeyCache(capacity: limits.maximumCachedKeyVersions)
        self.directory = KeyDirectory(capacity: limits.maximumDirectoryEntries)
        try Self.migrator.migrate(self.database)
        try self.database.write { db in
            if let stored = try Data.fetchOne(
                db,
                sql: "SELECT value FROM store_metadata WHERE name = ?",
                arguments: [Self.rootKeyCheckName]
            ) {
                try rootKey.verify(storedCheckValue: Array(stored))
            } else {
                try db.execute(
                    sql: "INSERT INTO store_metadata (name, value) VALUES (?, ?)",
                    arguments: [Self.rootKeyCheckName, Data(rootKey.checkValue)]
                )
                logger.info("initialised new key store", metadata: ["path": "\(path)"])
            }
        }
    }

    /// Closes the database and releases the store's lock; the store must not be used afterwards.
    ///
    /// - Throws: GRDB's `DatabaseError` when the database cannot be closed (the lock is
    ///   released anyway).
    public func close() throws {
        defer { self.lock.release() }
        try self.database.close()
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// Reads the stored root-key check value of an existing store without writing anything.
    ///
    /// - Throws: ``RootKeyError`` `mismatch` when `rootKey` is not the store's key.
    static func verifyRootKeyIfStoreExists(path: String, rootKey: RootKey) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        let stored: Data? = try queue.read { db in
            guard try db.tableExists("store_metadata") else { return nil }
            return try Data.fetchOne(db, sql: "SELECT value FROM store_metadata WHERE name = ?", arguments: [Self.rootKeyCheckName])
        }
        try queue.close()
        if let stored { try rootKey.verify(storedCheckValue: Array(stored)) }
    }
}

/// Settings of a ``ResourceStore``; every value has a documented default.
public struct ResourceStoreSettings: Hashable, Sendable {
    /// The most writes (single-resource writes or whole transaction bundles) that one group
    /// commit carries: concurrent writers share one SQLite transaction and one fsync, up to this
    /// many at a time. Default 64.
    public var maximumGroupCommitBatchSize: Int

    /// How many pages the write-ahead log may hold before a commit checkpoints it into the
    /// database file (SQLite's `wal_autocheckpoint`). Blind tokens and resource ids are random
    /// keys, so every write dirties pages all over the indexes; a longer log lets one checkpoint
    /// write each such page once for many transactions instead of once per few. It does not
    /// change durability: every commit's log frames are fsynced before it is acknowledged
    /// (`synchronous=FULL`). The log file grows to about this many pages (4 KiB each) before it
    /// is reused. Default 10,000 (about 40 MiB); SQLite's own default is 1,000.
    public var walAutoCheckpointPages: Int

    /// The page cache of the connection that writes, in KiB (SQLite's `cache_size`): index pages
    /// found in it need not be read again from the file system inside the write transaction.
    /// Default 65,536 (64 MiB); SQLite's own default is 2,000.
    public var writerCacheKiB: Int

    /// Creates settings; every argument has the documented default. ``ResourceStore`` refuses
    /// settings that are not all positive (``validate()``).
    public init(maximumGroupCommitBatchSize: Int = 64, walAutoCheckpointPages: Int = 10_000, writerCacheKiB: Int = 65_536) {
        self.maximumGroupCommitBatchSize = maximumGroupCommitBatchSize
        self.walAutoCheckpointPages = walAutoCheckpointPages
        self.writerCacheKiB = writerCacheKiB
    }

    /// Checks that every value is positive.
    ///
    /// - Throws: ``DataStoreError`` `invalidRequest` naming the values otherwise.
    public func validate() throws {
        guard self.maximumGroupCommitBatchSize >= 1, self.walAutoCheckpointPages >= 1, self.writerCacheKiB >= 1 else {
            throw DataStoreError(
                code: .invalidRequest,
                message: "resource store settings must be positive: group commit batch \(self.maximumGroupCommitBatchSize), "
                    + "WAL auto-checkpoint pages \(self.walAutoCheckpointPages), writer cache \(self.writerCacheKiB) KiB")
        }
    }
}

import GRDB

extension ResourceStore {
    /// Writes resource versions and their tokens, all or nothing, sharing one SQLite transaction
    /// (and one fsync) with concurrent callers (group commit); returns once that transaction
    /// has committed, so an acknowledged write is durable.
    ///
    /// The writes of one call run in their own savepoint: when one of them fails (a version
    /// conflict, a datastore that is no longer active), this call's savepoint is rolled back,
    /// nothing of it is written, the error reaches this caller only, and the other callers'
    /// writes in the same transaction commit. The same checks as ``commit(_:)`` apply.
    ///
    /// - Throws: ``DataStoreError`` `versionConflict` (its ``DataStoreError/resource`` names the
    ///   resource), `datastoreNotActive` or `notFound` for the datastore, `invalidRequest` for a
    ///   token without a parameter name; GRDB's `DatabaseError` when the shared commit fails
    ///   (then no caller of that transaction is acknowledged).
    public func groupCommit(_ writes: [ResourceWrite]) async throws {
        guard !writes.isEmpty else { return }
        try await self.writer.write { db in
            var checked: Set<String> = []
            for write in writes {
                if checked.insert(write.datastoreID).inserted {
                    try Self.requireStatus(db, id: write.datastoreID, in: [.active])
                }
                try Self.apply(write, db)
            }
        }
    }

    /// How many group-commit transactions have been written, how many writes they carried and
    /// the largest group: for tests and diagnostics.
    public var groupCommitStatistics: (transactions: Int, writes: Int, largestGroup: Int) {
        let statistics = self.writer.statistics
        return (statistics.batches, statistics.jobs, statistics.largestBatch)
    }
}

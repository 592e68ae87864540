/// Settings of a ``ResourceStore``; every value has a documented default.
public struct ResourceStoreSettings: Hashable, Sendable {
    /// The most writes (single-resource writes or whole transaction bundles) that one group
    /// commit carries: concurrent writers share one SQLite transaction and one fsync, up to this
    /// many at a time. Default 64.
    public var maximumGroupCommitBatchSize: Int

    /// Creates settings; every argument has the documented default.
    public init(maximumGroupCommitBatchSize: Int = 64) {
        self.maximumGroupCommitBatchSize = maximumGroupCommitBatchSize
    }
}

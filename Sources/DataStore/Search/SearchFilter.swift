/// What the store can decide about a search without decrypting anything: blind-token clauses,
/// ids, `_lastUpdated` conditions and the snapshot bound of paging.
public struct SearchFilter: Sendable {
    /// Token clauses, ANDed (each: any of its tokens).
    public var clauses: [SearchClause]
    /// The resource must have one of these ids.
    public var ids: Set<String>?
    /// Every inner list must have a matching condition.
    public var lastUpdated: [[LastUpdatedCondition]]
    /// Leave out resources updated after this time (milliseconds since 1970).
    public var notUpdatedAfter: Int64?

    /// Creates a filter.
    public init(clauses: [SearchClause] = [], ids: Set<String>? = nil, lastUpdated: [[LastUpdatedCondition]] = [], notUpdatedAfter: Int64? = nil) {
        self.clauses = clauses
        self.ids = ids
        self.lastUpdated = lastUpdated
        self.notUpdatedAfter = notUpdatedAfter
    }

    /// Whether the filter can match nothing without asking the store (an empty clause or no id).
    var matchesNothing: Bool {
        self.clauses.contains { $0.tokens.isEmpty } || self.ids?.isEmpty == true
    }
}

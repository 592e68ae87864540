/// Runs a ``SearchQuery`` over one datastore: blind tokens select candidates in the store, the
/// candidates of a page are decrypted, and values the tokens cannot decide alone are checked on
/// the decrypted resources.
///
/// The caller supplies the datastore's ``BlindIndex``, its key unwrapped by the key service for
/// this search, and an ``Opener`` that reads and decrypts a resource's current version (its
/// data keys unwrapped by the key service): a search always reaches the key service.
///
/// Paging is keyset paging in ``SearchSort`` order (`lastUpdated`, then id): a ``PageToken``
/// names the last position of the previous page and the time of the first page, so pages
/// neither repeat nor skip a resource while other resources are created.
public struct ResourceSearch: Sendable {
    /// Reads and decrypts the current version of a resource of the datastore by id; `nil` when
    /// it does not exist or is deleted.
    public typealias Opener = @Sendable (FHIRResourceType, String) async throws -> SearchMatch?

    /// The store.
    public let store: ResourceStore
    /// Opens resources.
    public let open: Opener
    /// The datastore's index (its key unwrapped for this search).
    public let index: BlindIndex
    /// Search limits.
    public let limits: SearchLimits

    /// Creates a search over a datastore's store, index and resources.
    public init(store: ResourceStore, index: BlindIndex, limits: SearchLimits = SearchLimits(), open: @escaping Opener) {
        self.store = store
        self.open = open
        self.index = index
        self.limits = limits
    }

    /// One page (or the count) of `query` in `datastoreID`.
    ///
    /// - Parameters:
    ///   - pageToken: The token of the page to return; `nil` for the first page (the query's
    ///     `_page_token` is used when this is `nil`).
    ///   - now: The current time in milliseconds since 1970: the snapshot of a first page.
    /// - Throws: ``DataStoreError`` `invalidRequest` for an unparseable value or a page token
    ///   that is not this search's; `searchTooCostly` beyond ``SearchLimits/maximumTokens`` or,
    ///   for a count, ``SearchLimits/maximumPostFilterCandidates``; `keyUnavailable`,
    ///   `decryptionFailed` and whatever else the opener throws; `datastoreNotActive`.
    public func run(_ query: SearchQuery, datastoreID: String, pageToken: String? = nil, now: Int64) async throws -> SearchResult {
        let clauses = try query.criteria.map { try self.index.clause(for: $0.parameter, value: $0.value, exact: $0.exact) }
        let tokenCount = clauses.reduce(0) { $0 + $1.tokens.count }
        guard tokenCount <= self.limits.maximumTokens else {
            throw DataStoreError(code: .searchTooCostly, message: "the search needs \(tokenCount) index tokens; the limit is \(self.limits.maximumTokens)")
        }
        let tokenText = pageToken.flatMap { $0.isEmpty ? nil : $0 } ?? query.pageToken
        let token = try tokenText.map {
            try PageToken(
                decoding: $0, key: self.index.key, datastoreID: datastoreID, query: query, maximumLength: self.limits.maximumPageTokenLength)
        }
        let snapshot = token?.snapshot ?? now
        let filter = SearchFilter(clauses: clauses, ids: query.ids, lastUpdated: query.lastUpdated, notUpdatedAfter: snapshot)
        let postFilters = clauses.filter(\.needsPostFilter)

        var total: Int?
        if query.summaryCount || query.includeTotal {
            total = try await self.count(query.resourceType, filter: filter, postFilters: postFilters, datastoreID: datastoreID)
        }
        if query.summaryCount {
            return SearchResult(query: query, matches: [], total: total, pageToken: tokenText, nextPageToken: nil)
        }

        var matches: [SearchMatch] = []
        var position = token?.cursor
        var examined = 0
        var exhausted = false
        while matches.count < query.count && !exhausted && examined < self.limits.maximumPostFilterCandidates {
            let wanted = query.count - matches.count
            let batch = try self.store.searchCandidates(
                datastoreID: datastoreID, resourceType: query.resourceType, filter: filter, sort: query.sort, after: position, limit: wanted + 1)
            exhausted = batch.count <= wanted
            let candidates = Array(batch.prefix(wanted))
            let opened = try await self.openAll(candidates, type: query.resourceType)
            for (candidate, match) in zip(candidates, opened) {
                examined += 1
                position = candidate
                if let match, try Self.passes(match, postFilters) { matches.append(match) }
            }
        }
        var next: String?
        if !exhausted, let position {
            next = PageToken(sort: query.sort, snapshot: snapshot, cursor: position, queryDigest: query.digest)
                .encoded(key: self.index.key, datastoreID: datastoreID)
        }
        return SearchResult(query: query, matches: matches, total: total, pageToken: tokenText, nextPageToken: next)
    }

    /// The number of matches; decrypts candidates only when a clause needs it.
    private func count(_ type: FHIRResourceType, filter: SearchFilter, postFilters: [SearchClause], datastoreID: String) async throws -> Int {
        guard !postFilters.isEmpty else {
            return try self.store.count(datastoreID: datastoreID, resourceType: type, filter: filter)
        }
        let candidates = try self.store.count(datastoreID: datastoreID, resourceType: type, filter: filter)
        guard candidates <= self.limits.maximumPostFilterCandidates else {
            throw DataStoreError(
                code: .searchTooCostly,
                message: "counting needs \(candidates) resources decrypted; the limit is \(self.limits.maximumPostFilterCandidates)")
        }
        var position: SearchCursor?
        var total = 0
        while true {
            let batch = try self.store.searchCandidates(
                datastoreID: datastoreID, resourceType: type, filter: filter, sort: .ascending, after: position, limit: 100)
            guard let last = batch.last else { return total }
            for match in try await self.openAll(batch, type: type) {
                if let match, try Self.passes(match, postFilters) { total += 1 }
            }
            position = last
        }
    }

    /// Whether a decrypted match passes every post-filter clause.
    private static func passes(_ match: SearchMatch, _ postFilters: [SearchClause]) throws -> Bool {
        guard !postFilters.isEmpty else { return true }
        guard case .object(let object) = try JSONValue.parse(match.json) else { return false }
        return postFilters.allSatisfy { BlindIndex.postFilterMatches($0, resource: object) }
    }

    /// The current versions of `candidates`, decrypted concurrently, in order; `nil` for one
    /// deleted since it was selected.
    private func openAll(_ candidates: [SearchCursor], type: FHIRResourceType) async throws -> [SearchMatch?] {
        try await withThrowingTaskGroup(of: (Int, SearchMatch?).self) { group in
            for (position, candidate) in candidates.enumerated() {
                group.addTask { (position, try await self.open(type, candidate.resourceID)) }
            }
            var results = [SearchMatch?](repeating: nil, count: candidates.count)
            for try await (position, match) in group { results[position] = match }
            return results
        }
    }
}

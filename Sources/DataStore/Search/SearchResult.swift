/// One page of a search, or its count.
public struct SearchResult: Sendable {
    /// The query the result answers.
    public var query: SearchQuery
    /// The matches of this page, in order (empty for `_summary=count`).
    public var matches: [SearchMatch]
    /// The number of matches of the whole search, for `_summary=count` and `_total`.
    public var total: Int?
    /// The token of this page (`nil` for the first page).
    public var pageToken: String?
    /// The token of the next page, `nil` on the last page.
    public var nextPageToken: String?

    /// Creates a result.
    public init(query: SearchQuery, matches: [SearchMatch], total: Int?, pageToken: String?, nextPageToken: String?) {
        self.query = query
        self.matches = matches
        self.total = total
        self.pageToken = pageToken
        self.nextPageToken = nextPageToken
    }
}

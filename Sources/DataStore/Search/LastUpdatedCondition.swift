/// One `_lastUpdated` value: a prefix and the range its instant names. The resource's
/// `meta.lastUpdated` is a point in time (milliseconds), so FHIR's range comparisons become:
///
/// | prefix | matches when lastUpdated is |
/// |---|---|
/// | `eq` (none) | within the range |
/// | `ne` | outside the range |
/// | `gt`, `sa` | at or after the range's end |
/// | `lt`, `eb` | before the range's start |
/// | `ge` | at or after the range's start |
/// | `le` | before the range's end |
public struct LastUpdatedCondition: Hashable, Sendable {
    /// A FHIR search prefix for instants (`ap` is not supported).
    public enum Prefix: String, Hashable, Sendable, CaseIterable {
        /// Within the range.
        case eq
        /// Outside the range.
        case ne
        /// After the range.
        case gt
        /// Before the range.
        case lt
        /// At or after the range's start.
        case ge
        /// Before the range's end.
        case le
        /// Starts after the range (same as `gt` for a point in time).
        case sa
        /// Ends before the range (same as `lt` for a point in time).
        case eb
    }

    /// The prefix.
    public var prefix: Prefix
    /// The range the value names.
    public var range: InstantRange

    /// Creates a condition.
    public init(prefix: Prefix, range: InstantRange) {
        self.prefix = prefix
        self.range = range
    }

    /// Parses `[prefix]instant`, e.g. `ge2020-05`, `2021`, `lt2020-05-01T10:00:00Z`.
    ///
    /// - Throws: ``DataStoreError`` `invalidRequest` for an unknown prefix or an unparseable instant
    ///   (the message does not quote the value).
    public init(parsing text: String) throws {
        var prefix = Prefix.eq
        var rest = Substring(text)
        if let first = text.first, first.isLetter {
            guard let parsed = Prefix(rawValue: String(text.prefix(2))) else {
                throw DataStoreError(code: .invalidRequest, message: "unsupported _lastUpdated prefix (eq, ne, gt, lt, ge, le, sa, eb)")
            }
            prefix = parsed
            rest = text.dropFirst(2)
        }
        guard let range = InstantRange(fhir: String(rest)) else {
            throw DataStoreError(
                code: .invalidRequest,
                message: "_lastUpdated needs an instant such as 2020, 2020-05, 2020-05-01 or 2020-05-01T10:00:00Z (a time needs a zone)")
        }
        self.init(prefix: prefix, range: range)
    }

    /// Whether a `lastUpdated` (milliseconds since 1970) matches.
    public func matches(_ lastUpdated: Int64) -> Bool {
        switch self.prefix {
        case .eq: lastUpdated >= self.range.start && lastUpdated < self.range.end
        case .ne: lastUpdated < self.range.start || lastUpdated >= self.range.end
        case .gt, .sa: lastUpdated >= self.range.end
        case .lt, .eb: lastUpdated < self.range.start
        case .ge: lastUpdated >= self.range.start
        case .le: lastUpdated < self.range.end
        }
    }

    /// The condition as SQL over the column `column`, with its arguments.
    func sql(column: String) -> (sql: String, arguments: [Int64]) {
        switch self.prefix {
        case .eq: ("(\(column) >= ? AND \(column) < ?)", [self.range.start, self.range.end])
        case .ne: ("(\(column) < ? OR \(column) >= ?)", [self.range.start, self.range.end])
        case .gt, .sa: ("\(column) >= ?", [self.range.end])
        case .lt, .eb: ("\(column) < ?", [self.range.start])
        case .ge: ("\(column) >= ?", [self.range.start])
        case .le: ("\(column) < ?", [self.range.end])
        }
    }
}

import Crypto

/// A search as a client asked for it, checked against the parameter table and the limits,
/// before any key is unwrapped.
///
/// Understood besides the table's parameters: `_id`, `_lastUpdated` (prefixes `eq`, `ne`, `gt`,
/// `lt`, `ge`, `le`, `sa`, `eb`), `_count`, `_sort` (`_lastUpdated`, `-_lastUpdated`),
/// `_summary` (`count`, `false`), `_total` (`none`, `estimate`, `accurate`) and `_page_token`.
/// Repeated parameters are ANDed; commas within a value are ORs. An unknown parameter is an
/// error, unless the search is lenient: then it is ignored and listed in ``ignoredParameters``.
public struct SearchQuery: Sendable {
    /// One name=value pair as the client wrote it.
    public struct Pair: Hashable, Sendable {
        /// The name, with its modifier (`family:exact`).
        public var name: String
        /// The value, commas included.
        public var value: String

        /// Creates a pair.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A condition on a table parameter.
    public struct Criterion: Hashable, Sendable {
        /// The parameter.
        public var parameter: SearchParameter
        /// The value as written (alternatives separated by commas).
        public var value: String
        /// `:exact` on a string parameter.
        public var exact: Bool
    }

    /// The names of the parameters with a special meaning.
    public static let specialParameters = ["_id", "_lastUpdated", "_count", "_sort", "_summary", "_total", "_page_token"]

    /// The resource type searched.
    public let resourceType: FHIRResourceType
    /// Conditions on table parameters, ANDed.
    public internal(set) var criteria: [Criterion] = []
    /// `_id`: the resource must have one of these ids (several `_id` parameters intersect).
    public internal(set) var ids: Set<String>?
    /// `_lastUpdated`: every inner list must have a matching condition.
    public internal(set) var lastUpdated: [[LastUpdatedCondition]] = []
    /// The order.
    public internal(set) var sort: SearchSort = .ascending
    /// The page size.
    public internal(set) var count: Int
    /// `_summary=count`: only the number of matches.
    public internal(set) var summaryCount = false
    /// `_total=accurate` or `estimate`: the page carries the number of matches.
    public internal(set) var includeTotal = false
    /// `_page_token` given as a parameter (the page token of a `next` link).
    public internal(set) var pageToken: String?
    /// Parameters ignored because the search is lenient and they are unknown, as written.
    public internal(set) var ignoredParameters: [String] = []
    /// The pairs that define the result set, for `self` and `next` links (without `_count`
    /// and `_page_token`).
    public internal(set) var linkParameters: [Pair] = []

    /// Parses and checks a search.
    ///
    /// - Parameters:
    ///   - parameters: The name=value pairs, in order.
    ///   - resourceType: The type searched.
    ///   - table: The parameter table.
    ///   - limits: Search limits.
    ///   - count: A page size given outside the parameters (an RPC field); `_count` wins.
    ///   - defaultCount: The page size when none is given (or `0`).
    ///   - maximumCount: The largest page; larger requests are cut to it.
    ///   - lenient: Ignore (and report) unknown parameters instead of refusing them.
    /// - Throws: ``DataStoreError`` `invalidRequest` naming the offending parameter (never quoting
    ///   its value): unknown parameter (strict), unsupported modifier, empty value, bad `_count`,
    ///   `_sort`, `_summary`, `_total`, `_id` or `_lastUpdated`, a repeated `_count`/`_sort`/
    ///   `_summary`/`_total`/`_page_token`, a negative `count`, too many parameters or
    ///   alternatives, too long a value.
    public init(
        parsing parameters: [Pair], resourceType: FHIRResourceType, table: SearchParameterTable, limits: SearchLimits, count: Int? = nil,
        defaultCount: Int, maximumCount: Int, lenient: Bool = false
    ) throws {
        guard parameters.count <= limits.maximumParameters else {
            throw DataStoreError(code: .invalidRequest, message: "a search takes at most \(limits.maximumParameters) parameters")
        }
        if let count, count < 0 {
            throw DataStoreError(code: .invalidRequest, message: "count must not be negative")
        }
        self.resourceType = resourceType
        var requestedCount = count
        var seen: Set<String> = []
        for pair in parameters {
            let parts = pair.name.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let base = parts[0]
            let modifier = parts.count > 1 ? parts[1] : nil
            let shownName = String(base.prefix(64))
            let isSpecial = Self.specialParameters.contains(base)
            let parameter = isSpecial ? nil : table.parameter(named: base, for: resourceType)
            guard isSpecial || parameter != nil else {
                if lenient {
                    self.ignoredParameters.append(String(pair.name.prefix(64)))
                    continue
                }
                throw DataStoreError(
                    code: .invalidRequest,
                    message: "unknown search parameter \"\(shownName)\" for \(resourceType.name); known: "
                        + (Self.specialParameters.filter { $0 != "_page_token" } + table.parameters(for: resourceType).map(\.name))
                        .joined(separator: ", "))
            }
            if let modifier {
                guard parameter?.type == .string, modifier == "exact" else {
                    throw DataStoreError(code: .invalidRequest, message: "unsupported modifier :\(modifier.prefix(32)) on \(shownName)")
                }
            }
            guard !pair.value.isEmpty else {
                throw DataStoreError(code: .invalidRequest, message: "empty value for search parameter \(shownName)")
            }
            guard pair.value.utf8.count <= limits.maximumValueBytes else {
                throw DataStoreError(code: .invalidRequest, message: "the value of \(shownName) is longer than \(limits.maximumValueBytes) bytes")
            }
            if ["_count", "_sort", "_summary", "_total", "_page_token"].contains(base) {
                guard seen.insert(base).inserted else {
                    throw DataStoreError(code: .invalidRequest, message: "\(base) is given more than once")
                }
            }
            let alternatives = pair.value.split(separator: ",", omittingEmptySubsequences: false)
            guard alternatives.count <= limits.maximumAlternatives else {
                throw DataStoreError(
                    code: .invalidRequest, message: "\(shownName) has more than \(limits.maximumAlternatives) comma-separated alternatives")
            }
            for alternative in alternatives {
                guard !alternative.isEmpty else {
                    throw DataStoreError(code: .invalidRequest, message: "empty alternative in the value of \(shownName)")
                }
                guard alternative.count <= limits.maximumAlternativeLength || base == "_page_token" else {
                    throw DataStoreError(
                        code: .invalidRequest, message: "a value of \(shownName) is longer than \(limits.maximumAlternativeLength) characters")
                }
            }
            switch base {
            case "_count":
                guard let number = Int(pair.value), number >= 0 else {
                    throw DataStoreError(code: .invalidRequest, message: "_count must be a non-negative integer")
                }
                requestedCount = number
                continue
            case "_page_token":
                self.pageToken = pair.value
                continue
            case "_id":
                let values = Set(alternatives.map(String.init))
                guard values.allSatisfy(FHIRResource.isValidID) else {
                    throw DataStoreError(code: .invalidRequest, message: "_id values must be ids (1 to 64 characters from A-Z, a-z, 0-9, '-', '.')")
                }
                self.ids = self.ids.map { $0.intersection(values) } ?? values
            case "_lastUpdated":
                self.lastUpdated.append(try alternatives.map { try LastUpdatedCondition(parsing: String($0)) })
            case "_sort":
                switch pair.value {
                case "_lastUpdated": self.sort = .ascending
                case "-_lastUpdated": self.sort = .descending
                default: throw DataStoreError(code: .invalidRequest, message: "_sort supports _lastUpdated and -_lastUpdated")
                }
            case "_summary":
                switch pair.value {
                case "count": self.summaryCount = true
                case "false": self.summaryCount = false
                default: throw DataStoreError(code: .invalidRequest, message: "_summary supports count and false")
                }
            case "_total":
                switch pair.value {
                case "none": self.includeTotal = false
                case "estimate", "accurate": self.includeTotal = true
                default: throw DataStoreError(code: .invalidRequest, message: "_total supports none, estimate and accurate")
                }
            default:
                self.criteria.append(Criterion(parameter: parameter!, value: pair.value, exact: modifier == "exact"))
            }
            self.linkParameters.append(pair)
        }
        guard let size = requestedCount, size > 0 else {
            self.count = defaultCount
            return
        }
        self.count = min(size, maximumCount)
    }

    /// Checks every table-parameter value as the index will read it (dates and prefixes, token
    /// and reference forms, blank strings) and the number of tokens the search needs, without a
    /// datastore key: a malformed search is refused before any key is unwrapped.
    ///
    /// - Throws: ``DataStoreError`` `invalidRequest` for a malformed value, `searchTooCostly`
    ///   beyond ``SearchLimits/maximumTokens`` or ``BlindIndexLimits/maximumDateRangeTokens``.
    public func checkValues(table: SearchParameterTable, limits: SearchLimits, indexLimits: BlindIndexLimits = BlindIndexLimits()) throws {
        var zero = [UInt8](repeating: 0, count: 32)
        let index = BlindIndex(key: BlindIndexKey(bytes: &zero), table: table, limits: indexLimits)
        var tokens = 0
        for criterion in self.criteria {
            tokens += try index.clause(for: criterion.parameter, value: criterion.value, exact: criterion.exact).tokens.count
        }
        guard tokens <= limits.maximumTokens else {
            throw DataStoreError(code: .searchTooCostly, message: "the search needs \(tokens) index tokens; the limit is \(limits.maximumTokens)")
        }
    }

    /// A digest of everything that defines the result set and its order (not the page size):
    /// a page token is valid only for the search it came from.
    public var digest: [UInt8] {
        var lines = ["type=\(self.resourceType.name)", "sort=\(self.sort.rawValue)"]
        lines += self.criteria.map { "c=\($0.parameter.name)\($0.exact ? ":exact" : "")=\($0.value)" }.sorted()
        if let ids { lines.append("id=" + ids.sorted().joined(separator: ",")) }
        lines += self.lastUpdated.map { conditions in
            "u=" + conditions.map { "\($0.prefix.rawValue)\($0.range.start)-\($0.range.end)" }.sorted().joined(separator: ",")
        }.sorted()
        let text = lines.joined(separator: "\n")
        return Array(SHA256.hash(data: Array(text.utf8)).prefix(16))
    }
}

extension BlindIndex {
    /// The comparison prefix of a date search value (FHIR `eq`, `ge`, `le`, `gt`, `lt`).
    public enum DatePrefix: String, Hashable, Sendable, CaseIterable {
        /// Within the value's range.
        case eq
        /// On or after the start of the value.
        case ge
        /// On or before the end of the value.
        case le
        /// After the end of the value.
        case gt
        /// Before the start of the value.
        case lt
    }

    /// The clause for one search parameter value as a client writes it.
    ///
    /// - `string`: starts-with, or exact with `exact: true` (`:exact`).
    /// - `token`: `system|code`, `|code`, `system|` or `code`.
    /// - `date`: an optional prefix (`ge1927-05-21`) and a date at any precision.
    /// - `reference`: `Type/id`, a full URL, or a bare id when the parameter has one target type.
    ///
    /// Commas are FHIR's "or": `family=smith,jones` matches either.
    ///
    /// - Throws: ``DataStoreError`` `invalidRequest` for an unparseable value or prefix,
    ///   `searchTooCostly` for a date range needing more than
    ///   ``BlindIndexLimits/maximumDateRangeTokens`` tokens.
    public func clause(for parameter: SearchParameter, value: String, exact: Bool = false) throws -> SearchClause {
        var tokens: Set<IndexToken> = []
        var needsPostFilter = false
        var foldedAlternatives: [String] = []
        let alternatives = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for alternative in alternatives {
            guard !alternative.isEmpty else {
                throw DataStoreError(code: .invalidRequest, message: "empty value for search parameter \(parameter.name)")
            }
            switch parameter.type {
            case .string:
                if exact {
                    tokens.insert(self.token(parameter, "e:" + alternative))
                } else {
                    let folded = Self.fold(alternative)
                    guard !folded.isEmpty else {
                        throw DataStoreError(code: .invalidRequest, message: "blank value for search parameter \(parameter.name)")
                    }
                    if folded.count > self.limits.maximumPrefixLength { needsPostFilter = true }
                    foldedAlternatives.append(folded)
                    tokens.insert(self.token(parameter, "p:" + String(folded.prefix(self.limits.maximumPrefixLength))))
                }
            case .token:
                if let bar = alternative.firstIndex(of: "|") {
                    let system = alternative[..<bar]
                    let code = alternative[alternative.index(after: bar)...]
                    switch (system.isEmpty, code.isEmpty) {
                    case (_, false): tokens.insert(self.token(parameter, "t:\(system)|\(code)"))
                    case (false, true): tokens.insert(self.token(parameter, "s:\(system)|"))
                    case (true, true):
                        throw DataStoreError(code: .invalidRequest, message: "\(parameter.name)=| names neither system nor code")
                    }
                } else {
                    tokens.insert(self.token(parameter, "c:" + alternative))
                }
            case .reference:
                let literal: String
                if let normalized = ReferenceValue.normalize(alternative) {
                    literal = normalized.literal
                } else if parameter.targets.count == 1, FHIRResource.isValidID(alternative) {
                    literal = "\(parameter.targets[0].name)/\(alternative)"
                } else {
                    throw DataStoreError(code: .invalidRequest, message: "\(parameter.name) needs a reference such as Patient/123")
                }
                tokens.insert(self.token(parameter, "r:" + literal))
            case .date:
                tokens.formUnion(try self.dateTokens(parameter, alternative))
            }
        }
        return SearchClause(
            parameter: parameter, tokens: tokens, needsPostFilter: needsPostFilter, foldedAlternatives: needsPostFilter ? foldedAlternatives : [])
    }

    private func dateTokens(_ parameter: SearchParameter, _ text: String) throws -> Set<IndexToken> {
        var prefix = DatePrefix.eq
        var dateText = Substring(text)
        if let first = text.first, first.isLetter {
            guard let parsed = DatePrefix(rawValue: String(text.prefix(2))) else {
                throw DataStoreError(code: .invalidRequest, message: "unsupported date prefix in \(parameter.name) (eq, ge, le, gt, lt)")
            }
            prefix = parsed
            dateText = text.dropFirst(2)
        }
        guard let date = FHIRDate(fhir: String(dateText)) else {
            throw DataStoreError(code: .invalidRequest, message: "\(parameter.name) needs a date such as 1927-05-21")
        }
        let earliest = FHIRDate(year: self.limits.searchableYears.lowerBound, month: 1, day: 1)!
        let latest = FHIRDate(year: self.limits.searchableYears.upperBound, month: 12, day: 31)!
        switch prefix {
        case .eq:
            return Set(self.normalizedValues(for: .date(date)).suffix(1).map { self.token(parameter, $0) })
        case .ge:
            return try self.dateRangeTokens(parameter, from: date.firstDay, through: latest)
        case .gt:
            guard let start = date.lastDay.nextDay else { return [] }
            return try self.dateRangeTokens(parameter, from: start, through: latest)
        case .le:
            return try self.dateRangeTokens(parameter, from: earliest, through: date.lastDay)
        case .lt:
            guard let end = date.firstDay.previousDay else { return [] }
            return try self.dateRangeTokens(parameter, from: earliest, through: end)
        }
    }

    /// The smallest set of year, month and day tokens whose dates are exactly the days
    /// `from`…`through` (inclusive): whole years where they fit, whole months at the edges,
    /// single days at the very ends. Empty when `from` is after `through`.
    ///
    /// - Throws: ``DataStoreError`` `searchTooCostly` beyond ``BlindIndexLimits/maximumDateRangeTokens``.
    public func dateRangeTokens(_ parameter: SearchParameter, from: FHIRDate, through: FHIRDate) throws -> Set<IndexToken> {
        var normalized: [String] = []
        var day = from.firstDay
        let end = through.lastDay
        while day <= end {
            let year = FHIRDate(year: day.year)!
            let month = FHIRDate(year: day.year, month: day.month)!
            let next: FHIRDate?
            if day == year.firstDay && year.lastDay <= end {
                normalized.append(self.normalizedValues(for: .date(year))[0])
                next = year.lastDay.nextDay
            } else if day == month.firstDay && month.lastDay <= end {
                normalized.append(self.normalizedValues(for: .date(month))[1])
                next = month.lastDay.nextDay
            } else {
                normalized.append(self.normalizedValues(for: .date(day))[2])
                next = day.nextDay
            }
            guard normalized.count <= self.limits.maximumDateRangeTokens else {
                throw DataStoreError(
                    code: .searchTooCostly,
                    message: "the date range of \(parameter.name) needs more than \(self.limits.maximumDateRangeTokens) tokens"
                )
            }
            guard let next else { break }
            day = next
        }
        return Set(normalized.map { self.token(parameter, $0) })
    }

    /// Whether a decrypted resource really matches a clause the tokens cannot decide alone
    /// (``SearchClause/needsPostFilter``): starts-with on the folded value or on one of its
    /// words, for any alternative, with no length cut. Always `true` for other clauses.
    public static func postFilterMatches(_ clause: SearchClause, resource: JSONObject) -> Bool {
        guard clause.needsPostFilter else { return true }
        guard let values = try? clause.parameter.values(in: resource) else { return false }
        for value in values {
            guard case .string(let text) = value else { continue }
            let folded = Self.fold(text)
            var fields = [folded]
            fields += folded.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
            for alternative in clause.foldedAlternatives where fields.contains(where: { $0.hasPrefix(alternative) }) {
                return true
            }
        }
        return false
    }

    /// Whether a resource with `tokens` matches every clause (each clause: any of its tokens).
    public static func matches(_ tokens: Set<IndexToken>, _ clauses: [SearchClause]) -> Bool {
        clauses.allSatisfy { !$0.tokens.isDisjoint(with: tokens) }
    }
}

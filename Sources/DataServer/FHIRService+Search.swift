import DataStore

extension FHIRService {
    /// Searches live resources of a type.
    ///
    /// Parameters are FHIR's: names from the search parameter table (with `:exact` for
    /// strings), `_id`, and `_count`. Several parameters are ANDed; commas within a value are
    /// ORs. Every search unwraps the index key (a kmsd call) and decrypts every result.
    ///
    /// - Throws: ``HealthLakeError`` `ValidationException` for an unknown parameter, modifier or
    ///   page token; `DataStoreError` `invalidRequest`/`searchTooCostly` for bad values; ``KMSKeyAccessError``.
    public func search(
        datastoreID: String, resourceType: String, parameters: [(name: String, value: String)], count: Int?, pageToken: String?
    ) async throws -> SearchPage {
        let record = try self.activeDatastore(datastoreID)
        let type = try Self.resourceType(resourceType)
        var pageSize = count
        var ids: Set<String>?
        var parsed: [(parameter: SearchParameter, value: String, exact: Bool)] = []
        for (name, value) in parameters {
            let parts = name.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let base = parts[0]
            let modifier = parts.count > 1 ? parts[1] : nil
            switch base {
            case "_count":
                guard modifier == nil, let number = Int(value) else {
                    throw HealthLakeError(code: .validation, message: "_count must be an integer")
                }
                pageSize = number
            case "_id":
                guard modifier == nil else { throw HealthLakeError(code: .validation, message: "_id takes no modifier") }
                let values = Set(value.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
                ids = ids.map { $0.intersection(values) } ?? values
            default:
                guard let parameter = self.table.parameter(named: base, for: type) else {
                    throw HealthLakeError(
                        code: .validation,
                        message: "unknown search parameter \"\(base.prefix(64))\" for \(type.name); known: "
                            + (["_id", "_count"] + self.table.parameters(for: type).map(\.name)).joined(separator: ", "))
                }
                guard modifier == nil || (modifier == "exact" && parameter.type == .string) else {
                    throw HealthLakeError(code: .validation, message: "unsupported modifier :\(modifier!.prefix(32)) on \(base)")
                }
                parsed.append((parameter, value, modifier == "exact"))
            }
        }
        let limit = try self.pageSize(pageSize ?? self.settings.defaultPageSize)
        var offset = 0
        if let pageToken, !pageToken.isEmpty {
            guard let number = Int(pageToken), number >= 0 else {
                throw HealthLakeError(code: .validation, message: "the page token is not one this service returned")
            }
            offset = number
        }
        // The index key comes from kmsd on every search, so a revoked key stops search too.
        let index = try await self.index(for: record)
        let clauses = try parsed.map { try index.clause(for: $0.parameter, value: $0.value, exact: $0.exact) }
        let page: [StoredResource]
        let more: Bool
        if let ids {
            // Few ids: read each, then check the other clauses against its own tokens.
            var matches: [StoredResource] = []
            for id in ids.sorted() where FHIRResource.isValidID(id) {
                guard let current = try self.store.currentVersion(datastoreID: datastoreID, resourceType: type, resourceID: id),
                    !current.isDeleted
                else { continue }
                let resource = try await self.read(datastoreID: datastoreID, resourceType: type.name, id: id)
                if !clauses.isEmpty {
                    let parsedResource = try FHIRResource.parse(resource.json, table: self.table, limits: self.settings.validationLimits)
                    guard BlindIndex.matches(Set(index.extractTokens(from: parsedResource)), clauses) else { continue }
                }
                matches.append(resource)
            }
            page = Array(matches.dropFirst(offset).prefix(limit))
            more = matches.count > offset + limit
        } else {
            let found = try self.store.search(datastoreID: datastoreID, resourceType: type, clauses: clauses, limit: limit + 1, offset: offset)
            more = found.count > limit
            page = try await self.concurrentlyMap(Array(found.prefix(limit))) { id in
                try await self.read(datastoreID: datastoreID, resourceType: type.name, id: id)
            }
        }
        return SearchPage(resources: page, nextPageToken: more ? String(offset + limit) : nil)
    }
}

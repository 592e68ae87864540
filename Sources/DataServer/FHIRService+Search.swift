import DataStore

extension FHIRService {
    /// Searches live resources of a type: one page, or with `_summary=count` only the count.
    ///
    /// Parameters are FHIR's (see ``SearchQuery``): the parameter table's names (`:exact` on
    /// strings), `_id`, `_lastUpdated`, `_count`, `_sort`, `_summary`, `_total`, `_page_token`.
    /// Several parameters are ANDed; commas within a value are ORs. The query is checked before
    /// anything else; then every search unwraps the datastore's index key (a kmsd call) and
    /// decrypts every resource it returns (kmsd calls), so a revoked or disabled key stops
    /// search at once.
    ///
    /// - Parameters:
    ///   - count: A page size given outside the parameters; `_count` wins; `nil` or `0`: the
    ///     default; cut to ``FHIRServiceSettings/maximumPageSize``.
    ///   - pageToken: A previous page's next token (or `nil`; `_page_token` also works).
    ///   - lenient: FHIR `handling=lenient`: unknown parameters are ignored and reported in the
    ///     Bundle's `OperationOutcome` entry instead of refused.
    /// - Throws: ``HealthLakeError`` `ValidationException` for an unknown resource type;
    ///   `DataStoreError` `invalidRequest` (a ValidationException on the wire) for an unknown
    ///   parameter (strict), a bad modifier, value or page token, `searchTooCostly`;
    ///   ``KMSKeyAccessError``; `datastoreNotActive`.
    public func search(
        datastoreID: String, resourceType: String, parameters: [(name: String, value: String)], count: Int?, pageToken: String?, lenient: Bool
    ) async throws -> SearchResult {
        let record = try self.activeDatastore(datastoreID)
        let type = try Self.resourceType(resourceType)
        let query = try SearchQuery(
            parsing: parameters.map { SearchQuery.Pair(name: $0.name, value: $0.value) }, resourceType: type, table: self.table,
            limits: self.settings.searchLimits, count: count, defaultCount: self.settings.defaultPageSize,
            maximumCount: self.settings.maximumPageSize, lenient: lenient)
        try query.checkValues(table: self.table, limits: self.settings.searchLimits)
        // The index key comes from kmsd on every search, so a revoked key stops search too.
        let index = try await self.index(for: record)
        let search = ResourceSearch(store: self.store, index: index, limits: self.settings.searchLimits) { type, id in
            do {
                let resource = try await self.read(datastoreID: datastoreID, resourceType: type.name, id: id)
                return SearchMatch(
                    resourceType: resource.resourceType, id: resource.id, versionID: resource.versionID, lastUpdated: resource.lastUpdated,
                    json: resource.json)
            } catch let error as DataStoreError where error.code == .notFound {
                return nil
            }
        }
        return try await search.run(query, datastoreID: datastoreID, pageToken: pageToken, now: Self.now())
    }

    /// Searches strictly and returns the page's resources and next token (see
    /// ``search(datastoreID:resourceType:parameters:count:pageToken:lenient:)``).
    public func search(
        datastoreID: String, resourceType: String, parameters: [(name: String, value: String)], count: Int?, pageToken: String?
    ) async throws -> SearchPage {
        let result = try await self.search(
            datastoreID: datastoreID, resourceType: resourceType, parameters: parameters, count: count, pageToken: pageToken, lenient: false)
        return SearchPage(
            resources: result.matches.map {
                StoredResource(json: $0.json, resourceType: $0.resourceType, id: $0.id, versionID: $0.versionID, lastUpdated: $0.lastUpdated, created: false)
            },
            nextPageToken: result.nextPageToken)
    }
}

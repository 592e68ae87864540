// A search as SearchResources receives it (resource type, name=value pairs, page token), checked
// as FHIRService.search does before any key is unwrapped: SearchQuery(parsing:) strict and
// lenient, checkValues (every value as the blind index reads it: dates and prefixes, tokens,
// references), LastUpdatedCondition(parsing:), the page token of a `next` link decoded and
// authenticated by PageToken(decoding:), and the searchset Bundle's links.
//
// Input: `Type?name=value&name=value…` (names and values as the RPC carries them, not
// percent-decoded; a pair without `=` has an empty value). Properties: a token this service
// issues for a query decodes back, for that query, to the same token; the searchset Bundle
// is valid JSON.

import FuzzSupport

@testable import DataStore

private let key: BlindIndexKey = {
    var bytes = [UInt8](repeating: 9, count: 32)
    return BlindIndexKey(bytes: &bytes)
}()
private let datastoreID = "0123456789abcdef0123456789abcdef"
private let limits = SearchLimits()

/// Splits the input as described above.
private func parse(_ text: String) -> (type: String, pairs: [SearchQuery.Pair]) {
    let parts = text.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
    let pairs: [SearchQuery.Pair] = parts.count < 2 ? [] : parts[1].split(separator: "&").map { pair in
        let nameAndValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return SearchQuery.Pair(name: String(nameAndValue[0]), value: nameAndValue.count > 1 ? String(nameAndValue[1]) : "")
    }
    return (String(parts[0]), pairs)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let (typeName, pairs) = parse(text(bytes(data, size)))

    for pair in pairs {
        if let condition = try? LastUpdatedCondition(parsing: pair.value) {
            require(condition.range.start <= condition.range.end, "a _lastUpdated range ends before it starts")
            for instant: Int64 in [.min, -1, 0, 1_700_000_000_000, .max] { _ = condition.matches(instant) }
            _ = condition.sql(column: "last_updated")
        }
    }

    guard let type = FHIRResourceType(typeName) else { return 0 }
    for lenient in [false, true] {
        guard
            let query = try? SearchQuery(
                parsing: pairs, resourceType: type, table: .r4, limits: limits, count: nil, defaultCount: 100, maximumCount: 100,
                lenient: lenient)
        else { continue }
        require((0...100).contains(query.count), "page size \(query.count) outside 0…100")
        _ = try? query.checkValues(table: .r4, limits: limits)

        // The token of a `next` link for this query decodes back for it.
        let issued = PageToken(
            sort: query.sort, snapshot: 1_700_000_000_000, cursor: SearchCursor(lastUpdated: 1_699_999_999_999, resourceID: "example"),
            queryDigest: query.digest)
        let encoded = issued.encoded(key: key, datastoreID: datastoreID)
        do {
            let decoded = try PageToken(
                decoding: encoded, key: key, datastoreID: datastoreID, query: query, maximumLength: limits.maximumPageTokenLength)
            require(decoded == issued, "a page token decodes to another token")
        } catch {
            fatalError("a page token issued for this search is refused: \(error)")
        }
        // The client's own `_page_token`: authentic or refused, never a trap.
        if let given = query.pageToken {
            _ = try? PageToken(decoding: given, key: key, datastoreID: datastoreID, query: query, maximumLength: limits.maximumPageTokenLength)
        }

        let result = SearchResult(query: query, matches: [], total: query.summaryCount ? 0 : nil, pageToken: query.pageToken, nextPageToken: encoded)
        do {
            _ = try JSONValue.parse(result.bundle())
        } catch {
            fatalError("the searchset Bundle is not valid JSON: \(error)")
        }
    }
    return 0
}

// MARK: - Seeds

@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    makeCorpusIfAsked(argc, argv, seeds: seeds)
    return 0
}

/// Searches the search tests make (Tests/DataStoreTests/Search, Tests/DataServerTests), and
/// second pages: the query with the `_page_token` this service issues for it.
private func seeds() throws -> [Seed] {
    let searches = [
        "Patient?family=Smith",
        "Patient?family:exact=a&gender=female,male&_count=5",
        "Patient?birthdate=ge1950-01-01&birthdate=le1990-06-30&_sort=-_lastUpdated",
        "Patient?identifier=http://hl7.org/fhir/sid/us-ssn|999-12-3456",
        "Patient?_id=a,b&_id=b,c&_total=accurate",
        "Patient?_lastUpdated=lt2024-01-02,ge2024-01-10&_summary=count",
        "Patient?_lastUpdated=ge2024-01-02&_sort=_lastUpdated&_count=3",
        "Patient?_lastUpdated=2020-01-01T10:00:00Z",
        "Observation?code=http://loinc.org|8302-2&date=ge2015-01&date=lt2016-02-01",
        "Observation?subject=Patient/79a5a3bb-8c45-a4d4-2c43-b1e6e9e55f0e,Patient/other&status=final",
        "Encounter?patient=https://example.org/fhir/Patient/p1&status=finished&date=2015-03",
        "Condition?subject=Patient/p1&code=http://snomed.info/sct|444814009",
        "Immunization?status=completed&patient=Patient/p1",
        "Patient?shoe-size=42&family=Smith",
        "Patient?family=Smith&_elements=id",
    ]
    var seeds = searches.enumerated().map { Seed("search-\($0.offset)", $0.element) }
    for (index, search) in searches.prefix(3).enumerated() {
        let (typeName, pairs) = parse(search)
        let query = try SearchQuery(
            parsing: pairs, resourceType: FHIRResourceType(typeName)!, table: .r4, limits: limits, defaultCount: 100, maximumCount: 100)
        let token = PageToken(
            sort: query.sort, snapshot: 1_700_000_000_000,
            cursor: SearchCursor(lastUpdated: 1_699_999_999_999, resourceID: "79a5a3bb-8c45-a4d4-2c43-b1e6e9e55f0e"),
            queryDigest: query.digest
        ).encoded(key: key, datastoreID: datastoreID)
        seeds.append(Seed("next-page-\(index)", "\(search)&_page_token=\(token)"))
    }
    return seeds
}

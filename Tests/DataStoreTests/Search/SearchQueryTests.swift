import Foundation
import Testing

@testable import DataStore

/// Parsing of searches, instants and page tokens, and the parameter table's coverage.
@Suite("search queries, instants and page tokens")
struct SearchQueryTests {
    static func query(_ type: FHIRResourceType, _ pairs: [(String, String)], lenient: Bool = false, count: Int? = nil) throws -> SearchQuery {
        try SearchQuery(
            parsing: pairs.map { SearchQuery.Pair(name: $0.0, value: $0.1) }, resourceType: type, table: .r4, limits: SearchLimits(),
            count: count, defaultCount: 100, maximumCount: 100, lenient: lenient)
    }

    @Test("the table has every required parameter for every required type")
    func tableCoverage() {
        let required: [FHIRResourceType: [String]] = [
            .patient: ["identifier", "name", "family", "given", "birthdate", "gender"],
            .observation: ["patient", "subject", "code", "date", "status", "category"],
            .condition: ["patient", "subject", "code", "category", "onset-date", "clinical-status"],
            .encounter: ["patient", "subject", "date", "status", "class", "type"],
            .procedure: ["patient", "subject", "code", "date", "status", "category"],
            .medicationRequest: ["patient", "subject", "code", "date", "authoredon", "status", "category"],
            .immunization: ["patient", "vaccine-code", "date", "status"],
            .allergyIntolerance: ["patient", "code", "date", "clinical-status", "category"],
            .documentReference: ["patient", "subject", "type", "date", "status", "category"],
        ]
        for (type, names) in required {
            for name in names {
                #expect(SearchParameterTable.r4.parameter(named: name, for: type) != nil, "\(type.name).\(name)")
            }
        }
        #expect(SearchParameterTable.r4.parameter(named: "code", for: .observation)?.type == .token)
        #expect(SearchParameterTable.r4.parameter(named: "date", for: .encounter)?.type == .date)
        #expect(SearchParameterTable.r4.parameter(named: "patient", for: .condition)?.targets == [.patient])
    }

    @Test("partial instants name ranges at their precision, in UTC or their zone")
    func instants() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        func ms(_ y: Int, _ m: Int, _ d: Int, _ h: Int = 0, _ min: Int = 0, _ s: Int = 0) -> Int64 {
            Int64(calendar.date(from: DateComponents(year: y, month: m, day: d, hour: h, minute: min, second: s))!.timeIntervalSince1970 * 1000)
        }
        let cases: [(String, Int64, Int64)] = [
            ("2020", ms(2020, 1, 1), ms(2021, 1, 1)),
            ("2020-02", ms(2020, 2, 1), ms(2020, 3, 1)),
            ("2020-12", ms(2020, 12, 1), ms(2021, 1, 1)),
            ("2020-02-29", ms(2020, 2, 29), ms(2020, 3, 1)),
            ("1969-12-31", ms(1969, 12, 31), ms(1970, 1, 1)),
            ("2020-05-01T10:00Z", ms(2020, 5, 1, 10), ms(2020, 5, 1, 10, 1)),
            ("2020-05-01T10:00:05Z", ms(2020, 5, 1, 10, 0, 5), ms(2020, 5, 1, 10, 0, 6)),
            ("2020-05-01T10:00:05-04:30", ms(2020, 5, 1, 14, 30, 5), ms(2020, 5, 1, 14, 30, 6)),
            ("2020-05-01T10:00:05.5Z", ms(2020, 5, 1, 10, 0, 5) + 500, ms(2020, 5, 1, 10, 0, 5) + 600),
            ("2020-05-01T10:00:05.123456Z", ms(2020, 5, 1, 10, 0, 5) + 123, ms(2020, 5, 1, 10, 0, 5) + 124),
        ]
        for (text, start, end) in cases {
            #expect(InstantRange(fhir: text) == InstantRange(start: start, end: end), "\(text)")
        }
        for bad in ["", "20", "2020-", "2020-13", "2019-02-29", "2020-05-01T", "2020-05-01T10:00", "2020-05-01T24:00Z", "2020-05-01T10:00:05.Z",
            "2020-05-01T10:00:05+15:00", "2020-05-01T10:00:05Zjunk", "２０２０", "2020-05-01 10:00:00Z"]
        {
            #expect(InstantRange(fhir: bad) == nil, "\(bad)")
        }
        #expect(try LastUpdatedCondition(parsing: "sa2020").prefix == .sa)
        #expect(throws: DataStoreError(code: .invalidRequest, message: "")) { try LastUpdatedCondition(parsing: "ap2020") }
    }

    @Test("strict refuses unknown parameters naming them; lenient lists them; special parameters parse")
    func parsing() throws {
        #expect(throws: DataStoreError(code: .invalidRequest, message: "")) { try Self.query(.patient, [("shoe-size", "42")]) }
        do {
            _ = try Self.query(.patient, [("shoe-size", "42")])
        } catch let error as DataStoreError {
            #expect(error.message.contains("\"shoe-size\""))
            #expect(!error.message.contains("42"))
        }
        let lenient = try Self.query(.patient, [("shoe-size", "42"), ("family", "Smith")], lenient: true)
        #expect(lenient.ignoredParameters == ["shoe-size"])
        #expect(lenient.criteria.map(\.parameter.name) == ["family"])
        #expect(lenient.linkParameters == [SearchQuery.Pair(name: "family", value: "Smith")])

        let query = try Self.query(
            .patient, [("_sort", "-_lastUpdated"), ("_count", "500"), ("_summary", "count"), ("_id", "a,b"), ("_id", "b,c"), ("_total", "accurate")])
        #expect(query.sort == .descending)
        #expect(query.count == 100)
        #expect(query.summaryCount)
        #expect(query.includeTotal)
        #expect(query.ids == ["b"])
        #expect(try Self.query(.patient, [], count: 7).count == 7)
        #expect(try Self.query(.patient, [("_count", "3")], count: 7).count == 3)
        #expect(try Self.query(.patient, [("_count", "0")]).count == 100)
        // The digest ties a page token to the filter and order, not the page size or order of pairs.
        #expect(try Self.query(.patient, [("family", "a"), ("gender", "male")]).digest == Self.query(.patient, [("gender", "male"), ("family", "a"), ("_count", "3")]).digest)
        #expect(try Self.query(.patient, [("family", "a")]).digest != Self.query(.patient, [("family", "b")]).digest)
        #expect(try Self.query(.patient, [("family", "a")]).digest != Self.query(.patient, [("family:exact", "a")]).digest)
        #expect(try Self.query(.patient, []).digest != Self.query(.patient, [("_sort", "-_lastUpdated")]).digest)
    }

    @Test("a page token round-trips and any change to it, or another key, datastore or search, is refused")
    func pageTokens() throws {
        var bytes = [UInt8](repeating: 7, count: 32)
        let key = BlindIndexKey(bytes: &bytes)
        var otherBytes = [UInt8](repeating: 8, count: 32)
        let otherKey = BlindIndexKey(bytes: &otherBytes)
        let query = try Self.query(.patient, [("family", "a")])
        let token = PageToken(
            sort: .ascending, snapshot: 1_700_000_000_000, cursor: SearchCursor(lastUpdated: 1_699_999_999_123, resourceID: "abc-123"),
            queryDigest: query.digest)
        let text = token.encoded(key: key, datastoreID: "ds-1")
        #expect(try PageToken(decoding: text, key: key, datastoreID: "ds-1", query: query, maximumLength: 512) == token)
        func refused(_ text: String, key: BlindIndexKey = key, datastoreID: String = "ds-1", query: SearchQuery = query) -> Bool {
            (try? PageToken(decoding: text, key: key, datastoreID: datastoreID, query: query, maximumLength: 512)) == nil
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var characters = Array(text)
        for position in characters.indices {
            let original = characters[position]
            for replacement in [alphabet[(alphabet.firstIndex(of: original)! + 1) % 64], alphabet[(alphabet.firstIndex(of: original)! + 32) % 64]] {
                characters[position] = replacement
                #expect(refused(String(characters)), "position \(position)")
            }
            characters[position] = original
        }
        #expect(refused(String(text.dropLast())))
        #expect(refused(text + "A"))
        #expect(refused(text + "="))
        #expect(refused(""))
        #expect(refused("%%%"))
        #expect(refused(String(repeating: "A", count: 600)))
        #expect(refused(text, key: otherKey))
        #expect(refused(text, datastoreID: "ds-2"))
        #expect(refused(text, query: try Self.query(.patient, [("family", "b")])))
        #expect(refused(text, query: try Self.query(.patient, [("family", "a"), ("_sort", "-_lastUpdated")])))
        #expect(PageToken.decodeBase64URL(PageToken.base64URL([0, 1, 2, 250, 251, 252, 253])) == [0, 1, 2, 250, 251, 252, 253])
    }
}

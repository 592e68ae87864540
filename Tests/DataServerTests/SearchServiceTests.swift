import DataServer
import DataStore
import Foundation
import GRPCCore
import KeylakeProto
import SwiftProtobuf
import Synchronization
import Testing

/// Ids created by a concurrent writer, shared with the reader.
private final class CreatedIDs: Sendable {
    let ids = Mutex<[String]>([])
}

/// fhird search over real mTLS against an in-process kmsd: paging tokens, strict and lenient
/// parameters, malformed values, exact long starts-with, `_summary=count`, and what a revoked
/// grant does to counts and next pages.
@Suite("fhird: search", .timeLimit(.minutes(5)))
struct SearchServiceTests {
    typealias Response = Keylake_Healthlake_V1_SearchResourcesResponse

    static func search(
        _ system: TestSystem, _ datastore: String, _ parameters: [(String, String)], type: String = "Patient", count: Int32 = 0,
        token: String = "", lenient: Bool = false
    ) async throws -> Response {
        try await system.app.searchResources(
            .with {
                $0.datastoreID = datastore
                $0.resourceType = type
                $0.parameters = parameters.map { name, value in .with { $0.name = name; $0.value = value } }
                $0.count = count
                $0.pageToken = token
                $0.lenient = lenient
            }, options: .test)
    }

    static func bundle(_ response: Response) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: response.bundle) as! [String: Any]
    }

    static func link(_ bundle: [String: Any], _ relation: String) -> String? {
        (bundle["link"] as? [[String: Any]])?.first { $0["relation"] as? String == relation }?["url"] as? String
    }

    /// The Synthea patients as Foundation objects.
    static func patients() throws -> [[String: Any]] {
        try Synthea.lines("Patient").map { try JSONSerialization.jsonObject(with: Data($0)) as! [String: Any] }
    }

    /// Loads every Synthea patient with its own id.
    static func loadPatients(_ system: TestSystem, _ datastore: String) async throws -> [String] {
        var ids: [String] = []
        for line in try Synthea.lines("Patient") {
            let id = (try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any])["id"] as! String
            _ = try await system.app.updateResource(
                .with { $0.datastoreID = datastore; $0.resourceType = "Patient"; $0.id = id; $0.resource = Data(line) }, options: .test)
            ids.append(id)
        }
        return ids
    }

    /// A minimal patient with one family name.
    static func patient(family: String, given: String = "Test") -> Data {
        Data(#"{"resourceType":"Patient","name":[{"family":"\#(family)","given":["\#(given)"]}],"gender":"unknown"}"#.utf8)
    }

    /// Walks every page; returns the ids in order and the bundles.
    static func walk(
        _ system: TestSystem, _ datastore: String, _ parameters: [(String, String)], count: Int32, between: () async throws -> Void = {}
    ) async throws -> (ids: [String], bundles: [[String: Any]]) {
        var ids: [String] = []
        var bundles: [[String: Any]] = []
        var token = ""
        for _ in 0..<500 {
            let page = try await Self.search(system, datastore, parameters, count: count, token: token)
            #expect(page.ids.count <= Int(count))
            ids += page.ids
            bundles.append(try Self.bundle(page))
            token = page.nextPageToken
            if token.isEmpty { return (ids, bundles) }
            try await between()
        }
        Issue.record("more than 500 pages")
        return (ids, bundles)
    }

    @Test("paging: every page once, opaque tokens in next links, stable while resources are created concurrently")
    func pagingUnderConcurrentCreates() async throws {
        try await withTestSystem { system in
            let datastore = try await system.createDatastore(name: "paging", cmk: try await system.createSeedKey())
            var originals = Set(try await Self.loadPatients(system, datastore))
            for index in 0..<12 {
                originals.insert(try await system.app.createResource(.with { $0.datastoreID = datastore; $0.resource = Self.patient(family: "Original\(index)") }, options: .test).id)
            }
            // Quiet paging first: everything once, in (lastUpdated, id) order, links carry the tokens.
            let quiet = try await Self.walk(system, datastore, [], count: 4)
            #expect(quiet.ids.count == originals.count)
            #expect(Set(quiet.ids) == originals)
            for bundle in quiet.bundles.dropLast() {
                let next = try #require(Self.link(bundle, "next"))
                #expect(next.hasPrefix("Patient?_count=4&_page_token="))
                #expect(Self.link(bundle, "self")?.hasPrefix("Patient?_count=4") == true)
            }
            #expect(Self.link(quiet.bundles.last!, "next") == nil)

            // Now page (both orders) while another task keeps creating patients.
            for sort in ["_lastUpdated", "-_lastUpdated"] {
                let created = CreatedIDs()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for index in 0..<15 {
                            let id = try await system.app.createResource(
                                .with { $0.datastoreID = datastore; $0.resource = Self.patient(family: "Concurrent\(index)") }, options: .test
                            ).id
                            created.ids.withLock { $0.append(id) }
                        }
                    }
                    // Wait (bounded) until the writer is running, so the pages really overlap it.
                    for _ in 0..<3000 where created.ids.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(10)) }
                    let before = Set(created.ids.withLock { $0 })
                    // Besides the concurrent writer, one more patient is created between every two pages.
                    let walked = try await Self.walk(system, datastore, [("_sort", sort)], count: 3) {
                        let id = try await system.app.createResource(
                            .with { $0.datastoreID = datastore; $0.resource = Self.patient(family: "Between") }, options: .test
                        ).id
                        created.ids.withLock { $0.append(id) }
                    }
                    try await group.waitForAll()
                    let all = originals.union(created.ids.withLock { $0 })
                    #expect(walked.ids.count == Set(walked.ids).count, "\(sort): a resource appeared twice")
                    #expect(originals.union(before).isSubset(of: Set(walked.ids)), "\(sort): a resource present from the start was skipped")
                    #expect(Set(walked.ids).isSubset(of: all))
                }
                originals.formUnion(created.ids.withLock { $0 })
            }
            let count = try Self.bundle(try await Self.search(system, datastore, [("_summary", "count")]))
            #expect(count["total"] as? Int == originals.count)
        }
    }

    @Test("tampered, garbage, oversized, foreign or mismatched page tokens are ValidationExceptions")
    func badPageTokens() async throws {
        try await withTestSystem { system in
            let datastore = try await system.createDatastore(name: "tokens")
            let other = try await system.createDatastore(name: "other")
            _ = try await Self.loadPatients(system, datastore)
            _ = try await Self.loadPatients(system, other)
            let first = try await Self.search(system, datastore, [("gender", "female,male")], count: 2)
            let token = first.nextPageToken
            #expect(!token.isEmpty)
            // The token works through the field and through _page_token, giving the same page.
            let viaField = try await Self.search(system, datastore, [("gender", "female,male")], count: 2, token: token)
            let viaParameter = try await Self.search(system, datastore, [("gender", "female,male"), ("_page_token", token)], count: 2)
            #expect(viaField.ids == viaParameter.ids)
            #expect(Set(viaField.ids).isDisjoint(with: first.ids))

            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            var bad: [(String, String)] = []
            var characters = Array(token)
            for position in stride(from: 0, to: characters.count, by: max(1, characters.count / 12)) {
                let original = characters[position]
                characters[position] = alphabet[(alphabet.firstIndex(of: original)! + 1) % alphabet.count]
                bad.append(("changed character \(position)", String(characters)))
                characters[position] = original
            }
            bad += [
                ("truncated", String(token.dropLast(3))),
                ("extended", token + "AA"),
                ("garbage", "not a token!"),
                ("a number", "100"),
                ("padded base64", token + "=="),
                ("oversized", String(repeating: "A", count: 20_000)),
            ]
            for (what, value) in bad {
                let refused = try await failure { try await Self.search(system, datastore, [("gender", "female,male")], count: 2, token: value) }
                #expect(refused?.name == "ValidationException", "\(what)")
                #expect((refused?.message.count ?? 0) < 300, "\(what)")
            }
            // Another search's or another datastore's token.
            let otherSearch = try await failure { try await Self.search(system, datastore, [("gender", "female")], count: 2, token: token) }
            #expect(otherSearch?.name == "ValidationException")
            let otherSort = try await failure {
                try await Self.search(system, datastore, [("gender", "female,male"), ("_sort", "-_lastUpdated")], count: 2, token: token)
            }
            #expect(otherSort?.name == "ValidationException")
            let otherDatastore = try await failure { try await Self.search(system, other, [("gender", "female,male")], count: 2, token: token) }
            #expect(otherDatastore?.name == "ValidationException")
        }
    }

    @Test("unknown parameters: strict refuses naming it; lenient ignores and reports it in an outcome entry")
    func strictAndLenient() async throws {
        try await withTestSystem { system in
            let datastore = try await system.createDatastore(name: "lenient")
            _ = try await Self.loadPatients(system, datastore)
            let strict = try await failure { try await Self.search(system, datastore, [("gender", "female"), ("shoe-size", "42")]) }
            #expect(strict?.name == "ValidationException")
            #expect(strict?.message.contains("shoe-size") == true)
            #expect(strict?.message.contains("42") == false)
            let plain = try await Self.search(system, datastore, [("gender", "female")])
            let lenient = try await Self.search(system, datastore, [("gender", "female"), ("shoe-size", "42"), ("_elements", "id")], lenient: true)
            #expect(lenient.ids == plain.ids)
            #expect(!plain.ids.isEmpty)
            let entries = try #require(try Self.bundle(lenient)["entry"] as? [[String: Any]])
            let outcomes = entries.filter { ($0["search"] as? [String: Any])?["mode"] as? String == "outcome" }
            #expect(outcomes.count == 1)
            let outcome = try #require(outcomes.first?["resource"] as? [String: Any])
            #expect(outcome["resourceType"] as? String == "OperationOutcome")
            let diagnostics = (outcome["issue"] as? [[String: Any]] ?? []).compactMap { $0["diagnostics"] as? String }
            #expect(diagnostics.count == 2)
            #expect(diagnostics.contains { $0.contains("shoe-size") } && diagnostics.contains { $0.contains("_elements") })
            #expect(entries.count == plain.ids.count + 1)
            // A plain (strict) bundle has no outcome entry; an unsupported modifier is refused even when lenient.
            #expect(!String(decoding: plain.bundle, as: UTF8.self).contains("OperationOutcome"))
            for lenient in [false, true] {
                let modifier = try await failure { try await Self.search(system, datastore, [("family:contains", "a")], lenient: lenient) }
                #expect(modifier?.name == "ValidationException")
            }
        }
    }

    @Test("malformed values are clear ValidationExceptions that do not quote the value")
    func malformedValues() async throws {
        try await withTestSystem { system in
            let datastore = try await system.createDatastore(name: "malformed")
            _ = try await Self.loadPatients(system, datastore)
            let long = String(repeating: "x", count: 100_000)
            let cases: [(String, [(String, String)])] = [
                ("bad month", [("birthdate", "1990-13-01")]),
                ("impossible day", [("birthdate", "1990-02-30")]),
                ("unknown prefix", [("birthdate", "xx1990")]),
                ("unsupported prefix", [("birthdate", "ap1990")]),
                ("slashes", [("birthdate", "1990/01/01")]),
                ("too long a date range", [("birthdate", "ge1000-01-01")]),
                ("bad instant", [("_lastUpdated", "2020-02-30")]),
                ("time without zone", [("_lastUpdated", "2020-01-01T10:00")]),
                ("bad _lastUpdated prefix", [("_lastUpdated", "zz2020")]),
                ("approximate", [("_lastUpdated", "ap2020")]),
                ("token with neither", [("identifier", "|")]),
                ("empty value", [("family", "")]),
                ("empty alternative", [("family", "a,,b")]),
                ("only a comma", [("gender", ",")]),
                ("blank string", [("family", "   ")]),
                ("thousands of alternatives", [("gender", Array(repeating: "female", count: 5000).joined(separator: ","))]),
                ("very long value", [("family", long)]),
                ("long alternative", [("family", String(repeating: "y", count: 300))]),
                ("bad reference", [("_id", "not an id!")]),
                ("negative _count", [("_count", "-1")]),
                ("text _count", [("_count", "ten")]),
                ("repeated _count", [("_count", "5"), ("_count", "6")]),
                ("unsupported _sort", [("_sort", "birthdate")]),
                ("unsupported _summary", [("_summary", "true")]),
                ("unsupported _total", [("_total", "maybe")]),
                ("too many parameters", Array(repeating: ("gender", "female"), count: 40)),
            ]
            for (what, parameters) in cases {
                let refused = try await failure { try await Self.search(system, datastore, parameters) }
                #expect(refused?.name == "ValidationException", "\(what): \(String(describing: refused))")
                #expect((refused?.message.count ?? 0) < 400, "\(what)")
                #expect(refused?.message.contains("xxxxxxxxxx") == false, "\(what)")
            }
            let negative = try await failure { try await Self.search(system, datastore, [], count: -1) }
            #expect(negative?.name == "ValidationException")
            // Unknown resource type and reference forms the parameter cannot take.
            let type = try await failure { try await Self.search(system, datastore, [], type: "Spaceship") }
            #expect(type?.name == "ValidationException")
            let reference = try await failure { try await Self.search(system, datastore, [("subject", "not/a/reference?x")], type: "Encounter") }
            #expect(reference?.name == "ValidationException")
        }
    }

    @Test("starts-with longer than the 32 indexed characters is exact; _summary=count and _total equal the independent count")
    func longStartsWithAndCounts() async throws {
        try await withTestSystem { system in
            let datastore = try await system.createDatastore(name: "long")
            _ = try await Self.loadPatients(system, datastore)
            let stem = "Abcdefghijklmnopqrstuvwxyzabcdefghij"  // 36 characters
            var ids: [String: String] = [:]
            for family in [stem + "One", stem + "Two", stem, "Abcdefghijklmnopqrstuvwxyzabcdefzz"] {
                ids[family] = try await system.app.createResource(.with { $0.datastoreID = datastore; $0.resource = Self.patient(family: family) }, options: .test).id
            }
            let cases: [(String, String, Set<String>)] = [
                ("family", stem + "On", [ids[stem + "One"]!]),
                ("family", (stem + "Tw").lowercased(), [ids[stem + "Two"]!]),
                ("family", stem, [ids[stem + "One"]!, ids[stem + "Two"]!, ids[stem]!]),
                ("family", String(stem.prefix(33)), [ids[stem + "One"]!, ids[stem + "Two"]!, ids[stem]!]),
                ("family", String(stem.prefix(32)), Set(ids.values)),
                ("name", stem + "One", [ids[stem + "One"]!]),
                ("family", stem + "One," + stem + "Two", [ids[stem + "One"]!, ids[stem + "Two"]!]),
                ("family", stem + "Three", []),
                ("family:exact", stem, [ids[stem]!]),
            ]
            for (name, value, expected) in cases {
                let found = try await Self.search(system, datastore, [(name, value)])
                #expect(Set(found.ids) == expected, "\(name)=\(value)")
                let counted = try Self.bundle(try await Self.search(system, datastore, [(name, value), ("_summary", "count")]))
                #expect(counted["total"] as? Int == expected.count, "count \(name)=\(value)")
                #expect(counted["entry"] == nil)
            }
            // Small pages of a long starts-with still give each match once.
            let walked = try await Self.walk(system, datastore, [("family", stem)], count: 1)
            #expect(walked.ids.count == 3 && Set(walked.ids).count == 3)

            // Counts over the Synthea patients against an independent count.
            let patients = try Self.patients()
            for gender in ["female", "male"] {
                let expected = patients.filter { $0["gender"] as? String == gender }.count
                let summary = try Self.bundle(try await Self.search(system, datastore, [("gender", gender), ("_summary", "count")]))
                #expect(summary["total"] as? Int == expected)
                #expect(summary["entry"] == nil)
                #expect(Self.link(summary, "self")?.contains("_summary=count") == true)
                let total = try Self.bundle(try await Self.search(system, datastore, [("gender", gender), ("_total", "accurate")], count: 2))
                #expect(total["total"] as? Int == expected)
                #expect((total["entry"] as? [Any])?.count == min(2, expected))
            }
            let born = patients.filter { ($0["birthDate"] as! String) >= "1960-01-01" }.count
            let summary = try Self.bundle(try await Self.search(system, datastore, [("birthdate", "ge1960-01-01"), ("_summary", "count")]))
            #expect(summary["total"] as? Int == born)
        }
    }

    @Test("after the grant is revoked, counts and next pages fail with KmsKeyAccessDeniedException")
    func revokedGrantStopsCountsAndPages() async throws {
        try await withTestSystem { system in
            let cmk = try await system.createSeedKey()
            let datastore = try await system.createDatastore(name: "revoked", cmk: cmk)
            _ = try await Self.loadPatients(system, datastore)
            let first = try await Self.search(system, datastore, [], count: 2)
            #expect(!first.nextPageToken.isEmpty)
            let grant = try #require(try await system.kmsAdmin.listGrants(.with { $0.keyID = cmk }, options: .test).grants.first)
            _ = try await system.kmsAdmin.revokeGrant(.with { $0.keyID = cmk; $0.grantID = grant.grantID }, options: .test)
            for (what, call) in [
                ("count", { try await Self.search(system, datastore, [("_summary", "count")]) }),
                ("next page", { try await Self.search(system, datastore, [], count: 2, token: first.nextPageToken) }),
                ("no parameters", { try await Self.search(system, datastore, []) }),
            ] as [(String, () async throws -> Response)] {
                let refused = try await failure(call)
                #expect(refused?.name == "KmsKeyAccessDeniedException", "\(what): \(String(describing: refused))")
            }
            // A malformed search is refused before any key is asked for: still a ValidationException.
            for parameters in [[("birthdate", "xx1990")], [("shoe-size", "1")], [("identifier", "|")], [("birthdate", "ge1000")]] {
                let refused = try await failure { try await Self.search(system, datastore, parameters) }
                #expect(refused?.name == "ValidationException", "\(parameters): \(String(describing: refused))")
            }
        }
    }
}

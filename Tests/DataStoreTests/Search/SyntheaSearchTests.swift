import Foundation
import Testing

@testable import DataStore

/// Every search parameter and prefix, run through ``ResourceSearch`` over the whole Synthea
/// fixture sealed and indexed in a store, compared with an answer computed here, independently,
/// from the NDJSON parsed by Foundation (paths written out below, not read from the table).
// Each test seals and indexes the whole fixture in a debug build: minutes on a loaded machine.
@Suite("search over Synthea against an independent computation", .timeLimit(.minutes(30)))
struct SyntheaSearchTests {
    /// 2023-12-20T00:00:00Z: the first resource's lastUpdated; every second resource is 866 s
    /// later, so lastUpdated spans a year end and a month end, and pairs of resources tie.
    static let base: Int64 = 1_703_030_400_000
    static let step: Int64 = 866_000
    /// A time after every lastUpdated (the snapshot of first pages).
    static let now: Int64 = 1_710_000_000_000

    /// How a parameter compares, and where its values are, written independently of the table.
    enum Kind { case string, token, date, reference }
    struct Spec {
        var type: String
        var name: String
        var kind: Kind
        var paths: [String]
        /// For `patient`: a bare id means `Patient/id`.
        var patientTarget = false
    }

    static let specs: [Spec] = {
        var specs = [
            Spec(type: "Patient", name: "identifier", kind: .token, paths: ["identifier"]),
            Spec(type: "Patient", name: "name", kind: .string, paths: ["name.family", "name.given", "name.text", "name.prefix", "name.suffix"]),
            Spec(type: "Patient", name: "family", kind: .string, paths: ["name.family"]),
            Spec(type: "Patient", name: "given", kind: .string, paths: ["name.given"]),
            Spec(type: "Patient", name: "birthdate", kind: .date, paths: ["birthDate"]),
            Spec(type: "Patient", name: "gender", kind: .token, paths: ["gender"]),
            Spec(type: "Observation", name: "code", kind: .token, paths: ["code.coding"]),
            Spec(type: "Observation", name: "date", kind: .date, paths: ["effectiveDateTime", "effectivePeriod.start", "effectiveInstant"]),
            Spec(type: "Observation", name: "status", kind: .token, paths: ["status"]),
            Spec(type: "Observation", name: "category", kind: .token, paths: ["category.coding"]),
            Spec(type: "Condition", name: "code", kind: .token, paths: ["code.coding"]),
            Spec(type: "Condition", name: "onset-date", kind: .date, paths: ["onsetDateTime", "onsetPeriod.start"]),
            Spec(type: "Condition", name: "recorded-date", kind: .date, paths: ["recordedDate"]),
            Spec(type: "Condition", name: "clinical-status", kind: .token, paths: ["clinicalStatus.coding"]),
            Spec(type: "Condition", name: "category", kind: .token, paths: ["category.coding"]),
            Spec(type: "Encounter", name: "date", kind: .date, paths: ["period.start"]),
            Spec(type: "Encounter", name: "status", kind: .token, paths: ["status"]),
            Spec(type: "Encounter", name: "class", kind: .token, paths: ["class"]),
            Spec(type: "Encounter", name: "type", kind: .token, paths: ["type.coding"]),
            Spec(type: "Procedure", name: "code", kind: .token, paths: ["code.coding"]),
            Spec(type: "Procedure", name: "date", kind: .date, paths: ["performedDateTime", "performedPeriod.start"]),
            Spec(type: "Procedure", name: "status", kind: .token, paths: ["status"]),
            Spec(type: "Procedure", name: "category", kind: .token, paths: ["category.coding"]),
            Spec(type: "MedicationRequest", name: "code", kind: .token, paths: ["medicationCodeableConcept.coding"]),
            Spec(type: "MedicationRequest", name: "authoredon", kind: .date, paths: ["authoredOn"]),
            Spec(type: "MedicationRequest", name: "status", kind: .token, paths: ["status"]),
            Spec(type: "MedicationRequest", name: "intent", kind: .token, paths: ["intent"]),
            Spec(type: "MedicationRequest", name: "category", kind: .token, paths: ["category.coding"]),
            Spec(type: "Immunization", name: "patient", kind: .reference, paths: ["patient"], patientTarget: true),
            Spec(type: "Immunization", name: "vaccine-code", kind: .token, paths: ["vaccineCode.coding"]),
            Spec(type: "Immunization", name: "date", kind: .date, paths: ["occurrenceDateTime"]),
            Spec(type: "Immunization", name: "status", kind: .token, paths: ["status"]),
            Spec(type: "AllergyIntolerance", name: "patient", kind: .reference, paths: ["patient"], patientTarget: true),
            Spec(type: "AllergyIntolerance", name: "code", kind: .token, paths: ["code.coding"]),
            Spec(type: "AllergyIntolerance", name: "date", kind: .date, paths: ["recordedDate"]),
            Spec(type: "AllergyIntolerance", name: "clinical-status", kind: .token, paths: ["clinicalStatus.coding"]),
            Spec(type: "AllergyIntolerance", name: "category", kind: .token, paths: ["category"]),
            Spec(type: "DocumentReference", name: "type", kind: .token, paths: ["type.coding"]),
            Spec(type: "DocumentReference", name: "date", kind: .date, paths: ["date"]),
            Spec(type: "DocumentReference", name: "status", kind: .token, paths: ["status"]),
            Spec(type: "DocumentReference", name: "category", kind: .token, paths: ["category.coding"]),
        ]
        for type in ["Observation", "Condition", "Encounter", "Procedure", "MedicationRequest", "DocumentReference"] {
            specs.append(Spec(type: type, name: "patient", kind: .reference, paths: ["subject"], patientTarget: true))
            specs.append(Spec(type: type, name: "subject", kind: .reference, paths: ["subject"]))
        }
        return specs
    }()

    /// The fixture has no Observations: three synthetic ones per patient (codes, categories,
    /// statuses and dates that differ).
    static func observations(patientIDs: [String]) -> [[UInt8]] {
        let codes = ["8302-2", "29463-7", "2339-0"]
        return patientIDs.enumerated().flatMap { index, patient in
            (0..<3).map { k in
                let category = k == 0 ? "vital-signs" : "laboratory"
                let date = k == 2 ? #""effectivePeriod":{"start":"20\#(10 + index)-0\#(k + 1)-15T10:00:00Z"}"# : #""effectiveDateTime":"20\#(10 + index)-0\#(k + 1)-15T10:00:00-05:00""#
                return Array(
                    #"{"resourceType":"Observation","id":"obs-\#(index)-\#(k)","status":"\#(k == 1 ? "amended" : "final")","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"\#(category)"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"\#(codes[k])"}]},"subject":{"reference":"Patient/\#(patient)"},\#(date)}"#
                        .utf8)
            }
        }
    }

    // MARK: - Independent extraction

    /// Values at a dot path, arrays flattened at every step.
    static func values(_ object: [String: Any], _ path: String) -> [Any] {
        var current: [Any] = [object]
        for name in path.split(separator: ".") {
            var next: [Any] = []
            for item in current {
                guard let dictionary = item as? [String: Any], let value = dictionary[String(name)] else { continue }
                if let array = value as? [Any] { next += array } else { next.append(value) }
            }
            current = next
        }
        return current
    }

    static func allValues(_ object: [String: Any], _ spec: Spec) -> [Any] {
        spec.paths.flatMap { Self.values(object, $0) }
    }

    /// (system, code) pairs of a token element: a code string, a Coding or an Identifier.
    static func codes(_ value: Any) -> [(system: String?, code: String)] {
        if let code = value as? String { return [(nil, code)] }
        guard let object = value as? [String: Any] else { return [] }
        guard let code = (object["code"] ?? object["value"]) as? String else { return [] }
        return [(object["system"] as? String, code)]
    }

    /// Lowercased, whole value and its words (split at anything not a letter or digit).
    static func stringFields(_ value: String) -> [String] {
        let folded = value.lowercased().folding(options: [.diacriticInsensitive], locale: nil)
        return [folded] + folded.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    }

    /// Whether the resource matches `value` (commas are ORs) for `spec`, computed directly.
    static func expectedMatch(_ object: [String: Any], _ spec: Spec, _ value: String, exact: Bool) -> Bool {
        let values = Self.allValues(object, spec)
        return value.split(separator: ",").contains { alternative in
            let alternative = String(alternative)
            switch spec.kind {
            case .string:
                let strings = values.compactMap { $0 as? String }
                if exact { return strings.contains(alternative) }
                let query = alternative.lowercased()
                return strings.contains { Self.stringFields($0).contains { $0.hasPrefix(query) } }
            case .token:
                let pairs = values.flatMap(Self.codes)
                if let bar = alternative.firstIndex(of: "|") {
                    let system = String(alternative[..<bar]), code = String(alternative[alternative.index(after: bar)...])
                    if system.isEmpty { return pairs.contains { $0.system == nil && $0.code == code } }
                    if code.isEmpty { return pairs.contains { $0.system == system } }
                    return pairs.contains { $0.system == system && $0.code == code }
                }
                return pairs.contains { $0.code == alternative }
            case .reference:
                let target = alternative.contains("/") ? alternative : "Patient/\(alternative)"
                return values.contains { (($0 as? [String: Any])?["reference"] as? String) == target }
            case .date:
                var prefix = "eq", text = alternative
                if let first = alternative.first, first.isLetter { prefix = String(alternative.prefix(2)); text = String(alternative.dropFirst(2)) }
                return values.compactMap { $0 as? String }.contains { date in
                    let written = String(date.prefix(text.count))
                    switch prefix {
                    case "eq": return written == text
                    case "ge": return written >= text
                    case "gt": return written > text
                    case "le": return written <= text
                    case "lt": return written < text
                    default: return false
                    }
                }
            }
        }
    }

    // MARK: - The store

    struct Loaded {
        let fixture: StoreFixture
        let search: ResourceSearch
        /// "Type" → Foundation objects.
        let objects: [String: [[String: Any]]]
        /// "Type/id" → lastUpdated.
        let lastUpdated: [String: Int64]
    }

    static func load() async throws -> Loaded {
        let fixture = try await StoreFixture()
        let index = try await fixture.index()
        var objects: [String: [[String: Any]]] = [:]
        var lastUpdated: [String: Int64] = [:]
        var lines: [(String, [UInt8])] = try Synthea.resourceFiles.flatMap { type in try Synthea.lines(type).map { (type, $0) } }
        let patientIDs = try Synthea.foundationObjects("Patient").map { $0["id"] as! String }
        lines += Self.observations(patientIDs: patientIDs).map { ("Observation", $0) }
        var batch: [ResourceWrite] = []
        for (position, (type, line)) in lines.enumerated() {
            let resource = try FHIRResource.parse(line)
            let object = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            objects[type, default: []].append(object)
            let time = Self.base + Int64(position / 2) * Self.step
            lastUpdated["\(type)/\(resource.id!)"] = time
            batch.append(try await fixture.write(resource, versionID: 1, index: index, lastUpdated: time))
            if batch.count == 250 {
                try fixture.store.commit(batch)
                batch = []
            }
        }
        try fixture.store.commit(batch)
        let store = fixture.store, cipher = fixture.cipher, datastoreID = fixture.datastore.id
        let search = ResourceSearch(store: store, index: index) { type, id in
            let stored = try store.read(datastoreID: datastoreID, resourceType: type, resourceID: id)
            guard let sealed = stored.sealed else { return nil }
            let json = try await cipher.open(sealed, context: stored.context(datastoreID: datastoreID))
            return SearchMatch(resourceType: type, id: id, versionID: stored.versionID, lastUpdated: stored.lastUpdated, json: json)
        }
        return Loaded(fixture: fixture, search: search, objects: objects, lastUpdated: lastUpdated)
    }

    static func query(_ type: String, _ pairs: [(String, String)], count: Int = 100, lenient: Bool = false) throws -> SearchQuery {
        try SearchQuery(
            parsing: pairs.map { SearchQuery.Pair(name: $0.0, value: $0.1) }, resourceType: FHIRResourceType(type)!, table: .r4,
            limits: SearchLimits(), defaultCount: count, maximumCount: 100, lenient: lenient)
    }

    /// Every page of a search, in order; checks that no page is larger than asked.
    static func allPages(_ loaded: Loaded, _ type: String, _ pairs: [(String, String)], count: Int = 100) async throws -> [SearchMatch] {
        let query = try Self.query(type, pairs, count: count)
        var matches: [SearchMatch] = []
        var token: String?
        for _ in 0..<2000 {
            let page = try await loaded.search.run(query, datastoreID: loaded.fixture.datastore.id, pageToken: token, now: Self.now)
            #expect(page.matches.count <= count)
            matches += page.matches
            guard let next = page.nextPageToken else { return matches }
            token = next
        }
        Issue.record("more than 2000 pages")
        return matches
    }

    /// Runs a search, checks the ids (no duplicates) and its `_summary=count` against `expected`.
    static func check(
        _ loaded: Loaded, _ type: String, _ pairs: [(String, String)], expected: Set<String>, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let found = try await Self.allPages(loaded, type, pairs).map(\.id)
        #expect(found.count == Set(found).count, "duplicates for \(type)?\(pairs)", sourceLocation: sourceLocation)
        #expect(Set(found) == expected, "\(type)?\(pairs): \(found.count) found, \(expected.count) expected", sourceLocation: sourceLocation)
        let counted = try await loaded.search.run(
            try Self.query(type, pairs + [("_summary", "count")]), datastoreID: loaded.fixture.datastore.id, now: Self.now)
        #expect(counted.total == expected.count, "count of \(type)?\(pairs)", sourceLocation: sourceLocation)
        #expect(counted.matches.isEmpty)
    }

    /// Sample values of a spec from the data, to search for.
    static func samples(_ objects: [[String: Any]], _ spec: Spec) -> [(value: String, exact: Bool)] {
        let values = objects.flatMap { Self.allValues($0, spec) }
        switch spec.kind {
        case .string:
            let strings = values.compactMap { $0 as? String }.sorted()
            guard let first = strings.first, let last = strings.last else { return [] }
            let middle = strings[strings.count / 2]
            return [
                (String(first.prefix(3)), false), (String(middle.prefix(1)).lowercased(), false), (middle.uppercased(), false),
                (middle, true), (middle.lowercased(), true), (String(first.prefix(2)) + "," + String(last.prefix(4)), false),
                ("zzzqqq", false),
            ]
        case .token:
            let pairs = values.flatMap(Self.codes)
            var counts: [String: Int] = [:]
            for pair in pairs { counts["\(pair.system ?? "")|\(pair.code)", default: 0] += 1 }
            let ranked = counts.sorted { ($0.value, $0.key) > ($1.value, $1.key) }.map(\.key)
            guard let common = ranked.first, let rare = ranked.last else { return [] }
            var samples: [(String, Bool)] = [(common, false), (rare, false), (common + "," + rare, false), ("nosuchsystem|nosuchcode", false)]
            for key in [common, rare] {
                let bar = key.firstIndex(of: "|")!
                let system = String(key[..<bar]), code = String(key[key.index(after: bar)...])
                samples.append((code, false))
                if !system.isEmpty { samples.append((system + "|", false)) } else { samples.append(("|" + code, false)) }
            }
            return samples
        case .date:
            let dates = values.compactMap { $0 as? String }.sorted()
            guard dates.count > 0 else { return [] }
            let middle = dates[dates.count / 2]
            let day = String(middle.prefix(10)), month = String(middle.prefix(7)), year = String(middle.prefix(4))
            var samples: [(String, Bool)] = []
            for value in [day, month, year] {
                for prefix in ["", "eq", "ge", "gt", "le", "lt"] { samples.append((prefix + value, false)) }
            }
            samples.append(("lt\(String(dates.first!.prefix(4))),gt\(String(dates.last!.prefix(7)))", false))
            samples.append(("le" + String(dates[dates.count / 4].prefix(10)) + ",ge" + String(dates[3 * dates.count / 4].prefix(10)), false))
            return samples
        case .reference:
            let references = values.compactMap { ($0 as? [String: Any])?["reference"] as? String }.sorted()
            guard let first = references.first, let last = references.last else { return [] }
            var samples: [(String, Bool)] = [(first, false), (first + "," + last, false), ("Patient/nosuchpatient", false)]
            if spec.patientTarget { samples.append((String(last.dropFirst("Patient/".count)), false)) }
            return samples
        }
    }

    @Test("every parameter of every type, with every prefix and form, equals the independent answer; _summary=count too")
    func everyParameter() async throws {
        let loaded = try await Self.load()
        defer { loaded.fixture.remove() }
        #expect(loaded.lastUpdated.count == 7160 + 39)
        var checked = 0
        for spec in Self.specs {
            let objects = loaded.objects[spec.type] ?? []
            #expect(!objects.isEmpty, "no \(spec.type) in the fixture")
            var samples = Self.samples(objects, spec)
            if samples.isEmpty {
                // The fixture lacks the element (Synthea writes no Procedure.category): only
                // check that a search for it finds nothing.
                #expect(objects.allSatisfy { Self.allValues($0, spec).isEmpty }, "no sample values for \(spec.type).\(spec.name)")
                samples = [(spec.kind == .date ? "2020" : spec.kind == .reference ? "Patient/none" : "none|none", false)]
            }
            for sample in samples {
                let name = sample.exact ? spec.name + ":exact" : spec.name
                let expected = Set(
                    objects.filter { Self.expectedMatch($0, spec, sample.value, exact: sample.exact) }.map { $0["id"] as! String })
                try await Self.check(loaded, spec.type, [(name, sample.value)], expected: expected)
                checked += 1
            }
        }
        #expect(checked > 250)

        // Several parameters AND; _id.
        let encounters = loaded.objects["Encounter"]!
        let patient = (encounters[100]["subject"] as! [String: Any])["reference"] as! String
        let spec = { (name: String) in Self.specs.first { $0.type == "Encounter" && $0.name == name }! }
        let both = Set(
            encounters.filter {
                Self.expectedMatch($0, spec("patient"), patient, exact: false) && Self.expectedMatch($0, spec("date"), "ge2015-01", exact: false)
                    && Self.expectedMatch($0, spec("status"), "finished", exact: false)
            }.map { $0["id"] as! String })
        #expect(!both.isEmpty)
        try await Self.check(loaded, "Encounter", [("patient", patient), ("date", "ge2015-01"), ("status", "finished")], expected: both)
        let someIDs = [encounters[3], encounters[500], encounters[1200]].map { $0["id"] as! String }
        try await Self.check(loaded, "Encounter", [("_id", someIDs.joined(separator: ","))], expected: Set(someIDs))
        try await Self.check(loaded, "Encounter", [("_id", someIDs.joined(separator: ",")), ("_id", someIDs[1])], expected: [someIDs[1]])
        try await Self.check(loaded, "Patient", [("_id", someIDs[0])], expected: [])
    }

    @Test("_lastUpdated with every prefix and precision, _sort both ways, and paging equal the independent answer")
    func lastUpdatedSortAndPaging() async throws {
        let loaded = try await Self.load()
        defer { loaded.fixture.remove() }
        // Range ends computed with Foundation's calendar, independently of the code under test.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        func milliseconds(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Int64 {
            let date = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))!
            return Int64((date.timeIntervalSince1970 * 1000).rounded())
        }
        // A resource's own lastUpdated, written with milliseconds, to hit it exactly.
        let (someKey, someTime) = loaded.lastUpdated.sorted { $0.key < $1.key }[4000]
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let exactText = formatter.string(from: Date(timeIntervalSince1970: Double(someTime) / 1000))
        let values: [(text: String, start: Int64, end: Int64)] = [
            ("2023", milliseconds(2023, 1, 1), milliseconds(2024, 1, 1)),
            ("2024", milliseconds(2024, 1, 1), milliseconds(2025, 1, 1)),
            ("2023-12", milliseconds(2023, 12, 1), milliseconds(2024, 1, 1)),
            ("2024-01", milliseconds(2024, 1, 1), milliseconds(2024, 2, 1)),
            ("2024-01-05", milliseconds(2024, 1, 5), milliseconds(2024, 1, 6)),
            ("2024-01-05T10:00Z", milliseconds(2024, 1, 5, 10), milliseconds(2024, 1, 5, 10, 1)),
            ("2024-01-05T10:12:20+02:00", milliseconds(2024, 1, 5, 8, 12, 20), milliseconds(2024, 1, 5, 8, 12, 21)),
            (exactText, someTime, someTime + 1),
        ]
        let types = ["Patient", "Immunization", "Encounter"]
        for type in types {
            let times = loaded.lastUpdated.filter { $0.key.hasPrefix(type + "/") }
            for value in values {
                for prefix in ["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"] {
                    let expected = Set(
                        times.filter { _, time in
                            switch prefix {
                            case "", "eq": time >= value.start && time < value.end
                            case "ne": time < value.start || time >= value.end
                            case "gt", "sa": time >= value.end
                            case "lt", "eb": time < value.start
                            case "ge": time >= value.start
                            default: time < value.end
                            }
                        }.map { String($0.key.dropFirst(type.count + 1)) })
                    try await Self.check(loaded, type, [("_lastUpdated", prefix + value.text)], expected: expected)
                }
            }
        }
        // The exact instant of one resource finds it and whatever of its type ties with it.
        let someType = String(someKey.split(separator: "/")[0])
        let ties = Set(loaded.lastUpdated.filter { $0.value == someTime && $0.key.hasPrefix(someType + "/") }.map { String($0.key.dropFirst(someType.count + 1)) })
        #expect(ties.contains(String(someKey.dropFirst(someType.count + 1))))
        try await Self.check(loaded, someType, [("_lastUpdated", exactText)], expected: ties)
        // Two conditions AND, commas OR.
        let encounterTimes = loaded.lastUpdated.filter { $0.key.hasPrefix("Encounter/") }
        let window = Set(encounterTimes.filter { $0.value >= milliseconds(2024, 1, 2) && $0.value < milliseconds(2024, 1, 10) }.map { String($0.key.dropFirst(10)) })
        try await Self.check(loaded, "Encounter", [("_lastUpdated", "ge2024-01-02"), ("_lastUpdated", "lt2024-01-10")], expected: window)
        let either = Set(encounterTimes.filter { $0.value < milliseconds(2024, 1, 2) || $0.value >= milliseconds(2024, 1, 10) }.map { String($0.key.dropFirst(10)) })
        try await Self.check(loaded, "Encounter", [("_lastUpdated", "lt2024-01-02,ge2024-01-10")], expected: either)

        // Order: ascending by (lastUpdated, id) by default and with _sort=_lastUpdated; descending with -_lastUpdated.
        for type in ["Procedure", "Patient"] {
            let ascending = loaded.lastUpdated.filter { $0.key.hasPrefix(type + "/") }
                .map { (time: $0.value, id: String($0.key.dropFirst(type.count + 1))) }
                .sorted { ($0.time, $0.id) < ($1.time, $1.id) }.map(\.id)
            #expect(try await Self.allPages(loaded, type, []).map(\.id) == ascending)
            #expect(try await Self.allPages(loaded, type, [("_sort", "_lastUpdated")], count: 37).map(\.id) == ascending)
            #expect(try await Self.allPages(loaded, type, [("_sort", "-_lastUpdated")], count: 41).map(\.id) == ascending.reversed())
            // Small pages: walking them all gives everything once, in order.
            #expect(try await Self.allPages(loaded, type, [], count: 7).map(\.id) == ascending)
        }
        let statusDone = try await Self.allPages(loaded, "Procedure", [("status", "completed")], count: 13)
        #expect(statusDone.count == Set(statusDone.map(\.id)).count)
        #expect(statusDone.count == loaded.objects["Procedure"]!.filter { ($0["status"] as? String) == "completed" }.count)
    }
    @Test("a long starts-with with a small decryption budget: pages stop early, the walk is still exact; a too costly count is refused")
    func postFilterBudget() async throws {
        let fixture = try await StoreFixture()
        defer { fixture.remove() }
        let index = try await fixture.index()
        let stem = "Abcdefghijklmnopqrstuvwxyzabcdef"  // exactly the 32 indexed characters
        var writes: [ResourceWrite] = []
        var matching: Set<String> = []
        for number in 0..<30 {
            let family = stem + (number % 6 == 0 ? "Match\(number)" : "Other\(number)")
            let json = #"{"resourceType":"Patient","id":"p\#(number)","name":[{"family":"\#(family)"}]}"#
            writes.append(try await fixture.write(try FHIRResource.parse(Array(json.utf8)), versionID: 1, index: index, lastUpdated: Self.base + Int64(number)))
            if number % 6 == 0 { matching.insert("p\(number)") }
        }
        try fixture.store.commit(writes)
        let store = fixture.store, cipher = fixture.cipher, datastoreID = fixture.datastore.id
        let search = ResourceSearch(store: store, index: index, limits: SearchLimits(maximumPostFilterCandidates: 4)) { type, id in
            let stored = try store.read(datastoreID: datastoreID, resourceType: type, resourceID: id)
            let json = try await cipher.open(stored.sealed!, context: stored.context(datastoreID: datastoreID))
            return SearchMatch(resourceType: type, id: id, versionID: stored.versionID, lastUpdated: stored.lastUpdated, json: json)
        }
        let query = try Self.query("Patient", [("family", stem + "Match")], count: 2)
        var found: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let page = try await search.run(query, datastoreID: datastoreID, pageToken: token, now: Self.now)
            #expect(page.matches.count <= 2)
            found += page.matches.map(\.id)
            token = page.nextPageToken
            pages += 1
        } while token != nil && pages < 100
        #expect(found.count == Set(found).count)
        #expect(Set(found) == matching)
        #expect(pages >= 30 / 4)
        await #expect(throws: DataStoreError(code: .searchTooCostly, message: "")) {
            _ = try await search.run(try Self.query("Patient", [("family", stem + "Match"), ("_summary", "count")]), datastoreID: datastoreID, now: Self.now)
        }
        // Within the index's 32 characters nothing is decrypted to decide, and the count is exact.
        let counted = try await search.run(try Self.query("Patient", [("family", stem), ("_summary", "count")]), datastoreID: datastoreID, now: Self.now)
        #expect(counted.total == 30)
    }
}

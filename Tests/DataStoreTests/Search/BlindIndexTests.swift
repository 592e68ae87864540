import Foundation
import Testing

@testable import DataStore

@Suite("blind search index")
struct BlindIndexTests {
    static let index: BlindIndex = {
        var bytes = [UInt8](repeating: 0x42, count: 32)
        return BlindIndex(key: BlindIndexKey(bytes: &bytes))
    }()

    /// Every fixture resource of one type with its tokens.
    struct Indexed {
        let resource: FHIRResource
        let foundation: [String: Any]
        let tokens: Set<IndexToken>
    }

    static func indexed(_ type: String) throws -> [Indexed] {
        try Synthea.lines(type).map { line in
            let resource = try FHIRResource.parse(line)
            return Indexed(
                resource: resource,
                foundation: try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any],
                tokens: Set(Self.index.extractTokens(from: resource))
            )
        }
    }

    /// The ids the index finds for `query` (parameter name → value), as a set.
    func search(_ resources: [Indexed], _ type: FHIRResourceType, _ query: [(String, String)], exact: Bool = false) throws -> Set<String> {
        let clauses = try query.map { name, value in
            try Self.index.clause(for: #require(SearchParameterTable.r4.parameter(named: name, for: type)), value: value, exact: exact)
        }
        return Set(resources.filter { BlindIndex.matches($0.tokens, clauses) }.map { $0.resource.id! })
    }

    /// Independent answer: the ids of the Foundation-parsed resources that satisfy `predicate`.
    func expected(_ resources: [Indexed], _ predicate: ([String: Any]) -> Bool) -> Set<String> {
        Set(resources.filter { predicate($0.foundation) }.map { $0.foundation["id"] as! String })
    }

    func names(_ patient: [String: Any]) -> [[String: Any]] { patient["name"] as? [[String: Any]] ?? [] }

    @Test("Patient searches by family, given prefix, :exact, birthdate range, gender and identifier")
    func patientSearches() throws {
        let patients = try Self.indexed("Patient")
        let first = patients[0].foundation
        let family = (self.names(first)[0]["family"] as! String)
        let given = ((self.names(first)[0]["given"] as! [String])[0])

        // family, starts-with, case-insensitive.
        let familyPrefix = String(family.prefix(4)).uppercased()
        let byFamily = try self.search(patients, .patient, [("family", familyPrefix)])
        #expect(byFamily.contains(first["id"] as! String))
        #expect(byFamily == self.expected(patients) { patient in
            self.names(patient).contains { ($0["family"] as? String)?.lowercased().hasPrefix(familyPrefix.lowercased()) == true }
        })
        // given prefix.
        let givenPrefix = String(given.prefix(3)).lowercased()
        #expect(try self.search(patients, .patient, [("given", givenPrefix)]) == self.expected(patients) { patient in
            self.names(patient).contains { (($0["given"] as? [String]) ?? []).contains { $0.lowercased().hasPrefix(givenPrefix) } }
        })
        // name matches family or given.
        #expect(try self.search(patients, .patient, [("name", given)]).contains(first["id"] as! String))
        // :exact is case-sensitive and whole-value.
        #expect(try self.search(patients, .patient, [("family", family)], exact: true) == self.expected(patients) { patient in
            self.names(patient).contains { $0["family"] as? String == family }
        })
        #expect(try self.search(patients, .patient, [("family", family.lowercased())], exact: true).isEmpty)
        #expect(try self.search(patients, .patient, [("family", String(family.dropLast()))], exact: true).isEmpty)

        // birthdate range: ge and le together, against string comparison of the NDJSON.
        let range = try self.search(patients, .patient, [("birthdate", "ge1950-01-01"), ("birthdate", "le1990-06-30")])
        #expect(range == self.expected(patients) { patient in
            let date = patient["birthDate"] as! String
            return date >= "1950-01-01" && date <= "1990-06-30"
        })
        #expect(!range.isEmpty && range.count < patients.count)
        for (prefix, compare) in [("gt", { (a: String, b: String) in a > b }), ("lt", { $0 < $1 }), ("ge", { $0 >= $1 }), ("le", { $0 <= $1 })] as [(String, (String, String) -> Bool)] {
            let date = first["birthDate"] as! String
            #expect(try self.search(patients, .patient, [("birthdate", prefix + date)]) == self.expected(patients) {
                compare($0["birthDate"] as! String, date)
            }, "\(prefix)")
        }
        // birthdate at year and month precision.
        let year = String((first["birthDate"] as! String).prefix(4))
        #expect(try self.search(patients, .patient, [("birthdate", year)]) == self.expected(patients) {
            ($0["birthDate"] as! String).hasPrefix(year)
        })
        // gender.
        #expect(try self.search(patients, .patient, [("gender", "female")]) == self.expected(patients) { $0["gender"] as? String == "female" })
        // identifier: system|value and value only.
        let ssn = ((first["identifier"] as! [[String: Any]]).first { $0["system"] as? String == "http://hl7.org/fhir/sid/us-ssn" })!["value"] as! String
        #expect(try self.search(patients, .patient, [("identifier", "http://hl7.org/fhir/sid/us-ssn|\(ssn)")]) == [first["id"] as! String])
        #expect(try self.search(patients, .patient, [("identifier", ssn)]) == [first["id"] as! String])
        #expect(try self.search(patients, .patient, [("identifier", "http://other|\(ssn)")]).isEmpty)
        #expect(try self.search(patients, .patient, [("identifier", "http://hl7.org/fhir/sid/us-ssn|")]).count == patients.count)
    }

    @Test("Condition searches by code and patient reference match an independent computation")
    func conditionSearches() throws {
        let conditions = try Self.indexed("Condition")
        let first = conditions[0].foundation
        let coding = ((first["code"] as! [String: Any])["coding"] as! [[String: Any]])[0]
        let system = coding["system"] as! String, code = coding["code"] as! String
        func hasCoding(_ condition: [String: Any]) -> Bool {
            (((condition["code"] as? [String: Any])?["coding"] as? [[String: Any]]) ?? []).contains {
                $0["system"] as? String == system && $0["code"] as? String == code
            }
        }
        #expect(try self.search(conditions, .condition, [("code", "\(system)|\(code)")]) == self.expected(conditions, hasCoding))
        #expect(try self.search(conditions, .condition, [("code", code)]) == self.expected(conditions, hasCoding))
        let subject = (first["subject"] as! [String: Any])["reference"] as! String
        let patientID = String(subject.dropFirst("Patient/".count))
        let expectedForPatient = self.expected(conditions) { ($0["subject"] as? [String: Any])?["reference"] as? String == subject }
        #expect(expectedForPatient.count > 1)
        #expect(try self.search(conditions, .condition, [("patient", patientID)]) == expectedForPatient)
        #expect(try self.search(conditions, .condition, [("subject", subject)]) == expectedForPatient)
        #expect(try self.search(conditions, .condition, [("patient", "https://example.org/fhir/\(subject)")]) == expectedForPatient)
        // AND of patient and code.
        #expect(try self.search(conditions, .condition, [("patient", patientID), ("code", code)]) == expectedForPatient.intersection(self.expected(conditions, hasCoding)))
        // OR with a comma.
        let other = (conditions.last!.foundation["subject"] as! [String: Any])["reference"] as! String
        #expect(try self.search(conditions, .condition, [("subject", "\(subject),\(other)")]) == self.expected(conditions) {
            let reference = ($0["subject"] as? [String: Any])?["reference"] as? String
            return reference == subject || reference == other
        })
    }

    @Test("Encounter date ranges and status match an independent computation")
    func encounterSearches() throws {
        let encounters = try Self.indexed("Encounter")
        func start(_ encounter: [String: Any]) -> String { String(((encounter["period"] as! [String: Any])["start"] as! String).prefix(10)) }
        #expect(try self.search(encounters, .encounter, [("date", "ge2015-03-15"), ("date", "lt2016-02-01")]) == self.expected(encounters) {
            start($0) >= "2015-03-15" && start($0) < "2016-02-01"
        })
        #expect(try self.search(encounters, .encounter, [("date", "2015-03")]) == self.expected(encounters) { start($0).hasPrefix("2015-03") })
        #expect(try self.search(encounters, .encounter, [("status", "finished")]).count == encounters.count)
    }

    @Test("every resource type in the table is indexed from the fixture")
    func allTypesIndexed() throws {
        for type in ["Procedure", "MedicationRequest", "Immunization", "AllergyIntolerance", "DocumentReference"] {
            let resources = try Self.indexed(type)
            let resourceType = FHIRResourceType(type)!
            let parameters = SearchParameterTable.r4.parameters(for: resourceType)
            let used = Set(resources.flatMap(\.tokens).map(\.parameter))
            // Every declared parameter except those Synthea leaves empty has tokens.
            #expect(used.isSubset(of: Set(parameters.map(\.name))))
            #expect(used.contains("patient"), "\(type)")
            #expect(used.contains("status") || used.contains("clinical-status"), "\(type)")
        }
    }

    @Test("tokens carry no plaintext: no patient name, identifier or birth date in their bytes")
    func noPlaintextInTokens() throws {
        let patients = try Self.indexed("Patient")
        var all: [UInt8] = []
        for patient in patients { for token in patient.tokens { all += token.bytes; #expect(token.bytes.count == 16) } }
        for secret in try PatientSecrets.load() {
            #expect(!all.contains(subsequence: Array(secret.utf8)), "\(secret)")
        }
    }

    @Test("date range covers are exact and minimal, brute-forced over four years")
    func dateRangeCover() throws {
        let parameter = SearchParameterTable.r4.parameter(named: "birthdate", for: .patient)!
        var days: [FHIRDate] = []
        var day = FHIRDate(year: 2023, month: 1, day: 1)!
        while day.year < 2027 { days.append(day); day = day.nextDay! }
        var generator = SplitMix64(seed: 7)
        for _ in 0..<40 {
            let a = days.randomElement(using: &generator)!, b = days.randomElement(using: &generator)!
            let (from, through) = (min(a, b), max(a, b))
            let cover = try Self.index.dateRangeTokens(parameter, from: from, through: through)
            for candidate in days {
                let tokens = Set(Self.index.normalizedValues(for: .date(candidate)).map { Self.index.token(parameter, $0) })
                #expect(!tokens.isDisjoint(with: cover) == (from <= candidate && candidate <= through))
            }
        }
        // A whole year is one token; open-ended ranges fit the default limit.
        #expect(try Self.index.dateRangeTokens(parameter, from: FHIRDate(year: 2024)!, through: FHIRDate(year: 2024)!).count == 1)
        #expect(try Self.index.clause(for: parameter, value: "ge1927-05-21").tokens.count < 512)
        // A range of single days beyond the limit is refused.
        let narrow = BlindIndex(key: Self.index.key, limits: BlindIndexLimits(maximumDateRangeTokens: 10))
        #expect(throws: DataStoreError(code: .searchTooCostly, message: "")) {
            try narrow.dateRangeTokens(parameter, from: FHIRDate(fhir: "2024-01-02")!, through: FHIRDate(fhir: "2024-01-30")!)
        }
    }

    @Test("strings fold case, accents and width; long prefixes need a post-filter")
    func stringNormalization() throws {
        let parameter = SearchParameterTable.r4.parameter(named: "family", for: .patient)!
        let resource = try FHIRResource.parse(Array(#"{"resourceType":"Patient","name":[{"family":"Müller-Lüdenscheidt"}]}"#.utf8))
        let tokens = Set(Self.index.extractTokens(from: resource))
        for query in ["mu", "MÜLLER", "muller-lu", "ludensch", "Ｍüller"] {
            #expect(BlindIndex.matches(tokens, [try Self.index.clause(for: parameter, value: query)]), "\(query)")
        }
        #expect(!BlindIndex.matches(tokens, [try Self.index.clause(for: parameter, value: "mueller")]))
        let long = try Self.index.clause(for: parameter, value: String(repeating: "a", count: 40))
        #expect(long.needsPostFilter)
    }

    @Test("bad search values are invalidRequest")
    func badValues() {
        let table = SearchParameterTable.r4
        for (type, name, value) in [
            (FHIRResourceType.patient, "birthdate", "yesterday"), (.patient, "birthdate", "xx2020"), (.patient, "birthdate", "ne2020"),
            (.patient, "identifier", "|"), (.condition, "subject", "123"), (.patient, "family", ""), (.patient, "family", "a,"),
        ] {
            #expect(throws: DataStoreError(code: .invalidRequest, message: "")) {
                try Self.index.clause(for: table.parameter(named: name, for: type)!, value: value)
            }
        }
    }
}

import Foundation
import Testing

@testable import DataStore

@Suite("FHIR resource parsing and validation")
struct FHIRResourceTests {
    static let patient = try! Synthea.lines("Patient")[0]

    /// The issue codes and expressions of a rejection, for compact expectations.
    func rejection(_ text: String, limits: FHIRValidationLimits = FHIRValidationLimits()) -> OperationOutcome? {
        self.rejection(Array(text.utf8), limits: limits)
    }

    func rejection(_ bytes: [UInt8], limits: FHIRValidationLimits = FHIRValidationLimits()) -> OperationOutcome? {
        do {
            _ = try FHIRResource.parse(bytes, limits: limits)
            return nil
        } catch {
            return error.outcome
        }
    }

    @Test("every Synthea resource is valid and keeps its content")
    func syntheaResourcesAreValid() throws {
        var types: Set<FHIRResourceType> = []
        for line in try Synthea.allLines() {
            let resource = try FHIRResource.parse(line)
            types.insert(resource.resourceType)
            #expect(resource.serialized() == line)
            #expect(resource.id != nil)
        }
        #expect(types.count == 13)
    }

    @Test("server-managed elements are set and stripped; everything else round-trips")
    func serverManagedElements() throws {
        let resource = try FHIRResource.parse(Self.patient)
        let stored = resource.settingServerManagedElements(id: "new-id", versionID: "3", lastUpdated: "2024-02-29T10:00:00.000Z")
        #expect(stored.id == "new-id")
        #expect(stored.versionID == "3")
        #expect(stored.lastUpdated == "2024-02-29T10:00:00.000Z")
        // `meta.profile` stays.
        #expect(stored.json["meta"]?.objectValue?["profile"] != nil)
        let reparsed = try FHIRResource.parse(stored.serialized())
        #expect(reparsed.clientContent == resource.clientContent)
        #expect(reparsed == stored)
        // A resource without meta gets one and loses it again.
        let bare = try FHIRResource.parse(Array(#"{"resourceType":"Device","status":"active"}"#.utf8))
        let bareStored = bare.settingServerManagedElements(id: "d1", versionID: "1", lastUpdated: "2024-01-01T00:00:00.000Z")
        #expect(bareStored.clientContent == bare.json)
    }

    @Test("the supported types include the fifteen the data service must know")
    func knownTypes() {
        for name in [
            "Patient", "Observation", "Condition", "Encounter", "Procedure", "MedicationRequest", "Immunization",
            "AllergyIntolerance", "DocumentReference", "Device", "Location", "Organization", "Practitioner",
            "PractitionerRole", "Bundle",
        ] {
            #expect(FHIRResourceType(name) != nil, "\(name)")
        }
        #expect(FHIRResourceType.allNames.count == 146)
        #expect(FHIRResourceType("patient") == nil)
        #expect(FHIRResourceType("Resource") == nil)
    }

    @Test(
        "rejections name the problem",
        arguments: [
            ("not json", "structure", nil),
            ("[1,2]", "structure", nil),
            ("\"Patient\"", "structure", nil),
            ("{}", "required", "resourceType"),
            (#"{"resourceType":7}"#, "structure", "resourceType"),
            (#"{"resourceType":"Unicorn"}"#, "not-supported", "resourceType"),
            (#"{"resourceType":"Patient","id":"has space"}"#, "value", "Patient.id"),
            (#"{"resourceType":"Patient","id":""}"#, "value", "Patient.id"),
            (#"{"resourceType":"Patient","id":"\#(String(repeating: "a", count: 65))"}"#, "value", "Patient.id"),
            (#"{"resourceType":"Patient","id":12}"#, "structure", "Patient.id"),
            (#"{"resourceType":"Patient","meta":[]}"#, "structure", "Patient.meta"),
            (#"{"resourceType":"Patient","meta":{"versionId":1}}"#, "structure", "Patient.meta.versionId"),
            (#"{"resourceType":"Patient","birthDate":19270521}"#, "structure", "Patient.birthDate"),
            (#"{"resourceType":"Patient","birthDate":"1927-02-30"}"#, "structure", "Patient.birthDate"),
            (#"{"resourceType":"Patient","birthDate":"21/05/1927"}"#, "structure", "Patient.birthDate"),
            (#"{"resourceType":"Patient","name":[{"family":{"text":"Smith"}}]}"#, "structure", "Patient.name[0].family"),
            (#"{"resourceType":"Patient","name":"Smith"}"#, "structure", "Patient.name"),
            (#"{"resourceType":"Patient","name":[{"given":["a",3]}]}"#, "structure", "Patient.name[0].given[1]"),
            (#"{"resourceType":"Patient","gender":true}"#, "structure", "Patient.gender"),
            (#"{"resourceType":"Patient","identifier":[{"system":"s","value":5}]}"#, "structure", "Patient.identifier[0].value"),
            (#"{"resourceType":"Condition","subject":"Patient/1"}"#, "structure", "Condition.subject"),
            (#"{"resourceType":"Condition","subject":{"reference":1}}"#, "structure", "Condition.subject.reference"),
            (#"{"resourceType":"Condition","code":{"coding":["x"]}}"#, "structure", "Condition.code.coding[0]"),
            (#"{"resourceType":"Condition","code":{"coding":[{"code":7}]}}"#, "structure", "Condition.code.coding[0].code"),
            (#"{"resourceType":"Encounter","period":{"start":"yesterday"}}"#, "structure", "Encounter.period.start"),
            (#"{"resourceType":"Encounter","period":{"start":"2020-01-01T10:00:00"}}"#, "structure", "Encounter.period.start"),
            (#"{"resourceType":"Patient","gender":"x","gender":"y"}"#, "invalid", nil),
        ] as [(String, String, String?)]
    )
    func rejections(_ text: String, code: String, expression: String?) throws {
        let outcome = try #require(self.rejection(text))
        #expect(outcome.issues.first?.code.code == code, "\(outcome.issues)")
        #expect(outcome.issues.first?.severity == .error)
        if let expression {
            #expect(outcome.issues.first?.expression == [expression], "\(outcome.issues)")
        }
    }

    @Test("all problems are reported together")
    func multipleIssues() throws {
        let outcome = try #require(self.rejection(#"{"resourceType":"Patient","id":"a b","birthDate":1,"gender":2}"#))
        #expect(outcome.issues.map(\.expression) == [["Patient.id"], ["Patient.birthDate"], ["Patient.gender"]])
    }

    @Test("size and depth limits are named settings")
    func limits() throws {
        let small = FHIRValidationLimits(maximumResourceBytes: 100, maximumDepth: 3)
        let big = #"{"resourceType":"Basic","text":"\#(String(repeating: "x", count: 200))"}"#
        #expect(self.rejection(big, limits: small)?.issues.first?.code == .tooLong)
        let deep = #"{"resourceType":"Basic","a":{"b":{"c":{}}}}"#
        #expect(self.rejection(deep, limits: small)?.issues.first?.code == .tooCostly)
        #expect(FHIRValidationLimits().maximumResourceBytes == 4 * 1024 * 1024 - 4 * 1024)
    }

    @Test("the OperationOutcome has FHIR's JSON shape")
    func outcomeJSON() throws {
        let outcome = try #require(self.rejection(#"{"resourceType":"Patient","birthDate":1}"#))
        let json = try JSONSerialization.jsonObject(with: Data(outcome.serialized())) as! [String: Any]
        #expect(json["resourceType"] as? String == "OperationOutcome")
        let issue = try #require((json["issue"] as? [[String: Any]])?.first)
        #expect(issue["severity"] as? String == "error")
        #expect(issue["code"] as? String == "structure")
        #expect((issue["diagnostics"] as? String)?.contains("birthDate") == true)
        #expect(issue["expression"] as? [String] == ["Patient.birthDate"])
    }

    @Test("FHIR dates parse at their precision and reject impossible values")
    func dates() {
        #expect(FHIRDate(fhir: "1927")?.precision == .year)
        #expect(FHIRDate(fhir: "1927-05")?.precision == .month)
        #expect(FHIRDate(fhir: "1927-05-21")?.description == "1927-05-21")
        #expect(FHIRDate(fhir: "1989-05-09T20:35:22-04:00")?.description == "1989-05-09")
        #expect(FHIRDate(fhir: "2024-01-01T00:00:00.123Z")?.description == "2024-01-01")
        #expect(FHIRDate(fhir: "2024-02-29") != nil)
        for bad in ["2023-02-29", "1927-13", "1927-00", "192", "1927-5-21", "2020-01-01T25:00:00Z", "2020-01-01T10:00Z", "2020-01-01T10:00:00+4:00", "x"] {
            #expect(FHIRDate(fhir: bad) == nil, "\(bad)")
        }
        #expect(FHIRInstant.format(millisecondsSince1970: 0) == "1970-01-01T00:00:00.000Z")
        #expect(FHIRInstant.format(millisecondsSince1970: 1_709_200_800_123) == "2024-02-29T10:00:00.123Z")
    }
}

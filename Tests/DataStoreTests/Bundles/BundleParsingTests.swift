import Foundation
import Testing

@testable import DataStore

/// Batch and transaction Bundles: hostile and malformed input is rejected with an
/// OperationOutcome naming the entry and the problem; valid Bundles parse into actions.
@Suite("FHIR Bundle parsing")
struct BundleParsingTests {
    static let patient = #"{"resourceType":"Patient","name":[{"family":"Doe"}]}"#
    static let uuid = "urn:uuid:2f6b1d9e-4c1a-4e0b-9a51-6f1d2c3b4a59"

    /// A Bundle of `type` with the given entry JSON texts.
    static func bundle(_ type: String, _ entries: [String]) -> [UInt8] {
        Array(#"{"resourceType":"Bundle","type":"\#(type)","entry":[\#(entries.joined(separator: ","))]}"#.utf8)
    }

    static func entry(_ method: String, _ url: String, resource: String? = nil, fullUrl: String? = nil, extra: String = "") -> String {
        var members: [String] = []
        if let fullUrl { members.append(#""fullUrl":"\#(fullUrl)""#) }
        if let resource { members.append(#""resource":\#(resource)"#) }
        members.append(#""request":{"method":"\#(method)","url":"\#(url)"\#(extra)}"#)
        return "{" + members.joined(separator: ",") + "}"
    }

    /// The rejection of `bytes` as a whole, or a recorded issue when it is accepted.
    func rejection(_ bytes: [UInt8], limits: FHIRBundleLimits = FHIRBundleLimits(), sourceLocation: SourceLocation = #_sourceLocation) -> FHIRValidationError? {
        do {
            _ = try FHIRBundle.parse(bytes, limits: limits)
            Issue.record("accepted", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(!error.outcome.issues.isEmpty, sourceLocation: sourceLocation)
            return error
        }
    }

    @Test("not a Bundle: not JSON, not an object, another resource, another or no type, entry not an array")
    func notABundle() throws {
        #expect(self.rejection(Array("{not json".utf8))?.outcome.issues.first?.code == .structure)
        #expect(self.rejection(Array("[]".utf8))?.description.contains("must be a JSON object") == true)
        #expect(self.rejection(Array(Self.patient.utf8))?.description.contains("resourceType must be \"Bundle\"") == true)
        for type in ["collection", "searchset", "batch-response", "Transaction"] {
            #expect(self.rejection(Self.bundle(type, []))?.outcome.issues.first?.code == .notSupported, "\(type)")
        }
        #expect(self.rejection(Array(#"{"resourceType":"Bundle","entry":[]}"#.utf8))?.description.contains("Bundle.type") == true)
        let entryObject = self.rejection(Array(#"{"resourceType":"Bundle","type":"batch","entry":{}}"#.utf8))
        #expect(entryObject?.outcome.issues.first?.expression == ["Bundle.entry"])
        let entryString = self.rejection(Self.bundle("transaction", [Self.entry("POST", "Patient", resource: Self.patient), #""x""#]))
        #expect(entryString?.description.contains("entry 1: an entry must be an object") == true)
        // An empty Bundle is valid.
        #expect(try FHIRBundle.parse(Self.bundle("batch", [])).entries.isEmpty)
    }

    @Test("limits: too many entries, too many bytes, nesting too deep")
    func limits() throws {
        let four = Self.bundle("batch", Array(repeating: Self.entry("POST", "Patient", resource: Self.patient), count: 4))
        let tooMany = self.rejection(four, limits: FHIRBundleLimits(maximumEntries: 3))
        #expect(tooMany?.outcome.issues.first?.code == .tooCostly)
        #expect(tooMany?.description.contains("4 entries; the limit is 3") == true)
        #expect(try FHIRBundle.parse(four, limits: FHIRBundleLimits(maximumEntries: 4)).entries.count == 4)

        let tooLarge = self.rejection(four, limits: FHIRBundleLimits(maximumBytes: 100))
        #expect(tooLarge?.outcome.issues.first?.code == .tooLong)

        // A resource nested 200 levels deep inside an otherwise valid Bundle.
        let deep = #"{"resourceType":"Patient","extension":"# + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"
        let tooDeep = self.rejection(Self.bundle("transaction", [Self.entry("POST", "Patient", resource: deep)]))
        #expect(tooDeep?.outcome.issues.first?.code == .tooCostly)
        // A huge string stays within the byte limit check, not a crash.
        let huge = #"{"resourceType":"Patient","text":{"div":""# + String(repeating: "a", count: 300_000) + #""}}"#
        let hugeBundle = Self.bundle("batch", [Self.entry("POST", "Patient", resource: huge)])
        // A batch keeps going: the oversized entry fails on its own.
        let parsed = try? FHIRBundle.parse(hugeBundle, limits: FHIRBundleLimits(resourceLimits: FHIRValidationLimits(maximumResourceBytes: 100_000)))
        #expect(parsed != nil)
        guard case .failure(let error)? = parsed?.entries.first?.action else {
            Issue.record("the oversized resource was accepted")
            return
        }
        #expect(error.outcome.issues.first?.code == .tooLong)
    }

    /// Entries that are each wrong in one way, with what the outcome must say.
    static let badEntries: [(entry: String, says: String, expression: String)] = [
        (#"{"resource":\#(patient)}"#, "request is missing", "request"),
        (#"{"request":"POST Patient"}"#, "request must be an object", "request"),
        (#"{"request":{"url":"Patient"}}"#, "request.method is missing", "request.method"),
        (entry("PATCH", "Patient/1"), "is not one of GET, POST, PUT, DELETE", "request.method"),
        (#"{"request":{"method":42,"url":"Patient"}}"#, "request.method must be a string", "request.method"),
        (#"{"request":{"method":"GET"}}"#, "request.url is missing", "request.url"),
        (entry("GET", ""), "request.url must be a string of 1 to 2048", "request.url"),
        (entry("GET", "Nope/1"), "must start with a FHIR R4 resource type", "request.url"),
        (entry("GET", "Patient/bad id!"), "invalid id", "request.url"),
        (entry("GET", "Patient/1/_history/x"), "invalid version id", "request.url"),
        (entry("GET", "Patient?name=x"), "search URLs", "request.url"),
        (entry("GET", "http://example.org/fhir/Patient/1"), "must start with a FHIR R4 resource type", "request.url"),
        (entry("DELETE", "Patient"), "must be Type/id", "request.url"),
        (entry("PUT", "Patient/1/_history/2", resource: patient), "Type/id/_history/vid", "request.url"),
        (entry("POST", "Patient/1", resource: patient), "request.url must be Type", "request.url"),
        (entry("POST", "Patient"), "needs a resource", "resource"),
        (entry("PUT", "Patient/1"), "needs a resource", "resource"),
        (entry("GET", "Patient/1", resource: patient), "must not carry a resource", "resource"),
        (entry("POST", "Patient", resource: "[]"), "resource must be a JSON object", "resource"),
        (entry("POST", "Observation", resource: patient), "the resource is a Patient, request.url names Observation", "resource.resourceType"),
        (entry("PUT", "Patient/1", resource: #"{"resourceType":"Patient","id":"2"}"#), "differs from the id in request.url", "resource.id"),
        (entry("POST", "Patient", resource: patient, extra: #","ifNoneExist":"identifier=x""#), "conditional create", "request.ifNoneExist"),
        (entry("DELETE", "Patient/1", extra: #","ifMatch":"W/\"1\"""#), "supported on PUT only", "request.ifMatch"),
    ]

    @Test("each bad entry rejects a transaction and fails alone in a batch, naming the entry and element")
    func badEntries() throws {
        let good = Self.entry("POST", "Patient", resource: Self.patient)
        for bad in Self.badEntries {
            let error = self.rejection(Self.bundle("transaction", [good, bad.entry]))
            #expect(error?.description.contains("entry 1: ") == true, "\(bad.says): \(String(describing: error))")
            #expect(error?.description.contains(bad.says) == true, "\(bad.says): \(String(describing: error))")
            #expect(error?.outcome.issues.first?.expression == ["Bundle.entry[1].\(bad.expression)"], "\(bad.says)")

            let batch = try FHIRBundle.parse(Self.bundle("batch", [good, bad.entry]))
            #expect(batch.kind == .batch)
            #expect((try? batch.entries[0].action.get()) != nil, "\(bad.says): the good entry stands")
            guard case .failure(let entryError) = batch.entries[1].action else {
                Issue.record("\(bad.says): accepted in a batch")
                continue
            }
            #expect(entryError.description.contains(bad.says), "\(bad.says)")
        }
    }

    @Test("an invalid resource names the entry; a transaction reports every bad entry")
    func invalidResources() {
        let badID = Self.entry("POST", "Patient", resource: #"{"resourceType":"Patient","id":"no spaces allowed"}"#)
        let unknownType = Self.entry("POST", "Patient", resource: #"{"resourceType":"Nope"}"#)
        let error = self.rejection(Self.bundle("transaction", [Self.entry("POST", "Patient", resource: Self.patient), badID, unknownType]))
        #expect(error?.outcome.issues.count == 2)
        #expect(error?.outcome.issues[0].diagnostics.hasPrefix("entry 1: ") == true)
        #expect(error?.outcome.issues[0].expression == ["Patient.id"])
        #expect(error?.outcome.issues[1].diagnostics.hasPrefix("entry 2: ") == true)
    }

    @Test("fullUrl: duplicates, invalid urn:uuid and non-strings reject the Bundle")
    func fullUrls() {
        let first = Self.entry("POST", "Patient", resource: Self.patient, fullUrl: Self.uuid)
        for type in ["batch", "transaction"] {
            let duplicate = self.rejection(Self.bundle(type, [first, first]))
            #expect(duplicate?.description.contains("entry 1: fullUrl") == true)
            #expect(duplicate?.description.contains("also the fullUrl of entry 0") == true)
        }
        let invalid = self.rejection(Self.bundle("transaction", [Self.entry("POST", "Patient", resource: Self.patient, fullUrl: "urn:uuid:not-a-uuid")]))
        #expect(invalid?.description.contains("not a valid urn:uuid") == true)
        let number = self.rejection(Array(#"{"resourceType":"Bundle","type":"batch","entry":[{"fullUrl":7,"request":{"method":"GET","url":"Patient/1"}}]}"#.utf8))
        #expect(number?.outcome.issues.first?.expression == ["Bundle.entry[0].fullUrl"])
    }

    @Test("a transaction may touch a resource once; a batch may repeat it")
    func repeatedTargets() throws {
        let entries = [
            Self.entry("PUT", "Patient/p1", resource: Self.patient),
            Self.entry("DELETE", "Patient/p1"),
        ]
        let error = self.rejection(Self.bundle("transaction", entries))
        #expect(error?.description.contains("entry 1: Patient/p1 is also the target of entry 0") == true)
        #expect(try FHIRBundle.parse(Self.bundle("batch", entries)).entries.count == 2)
    }

    @Test("a valid transaction parses into actions in Bundle order")
    func valid() throws {
        let bundle = try FHIRBundle.parse(
            Self.bundle(
                "transaction",
                [
                    Self.entry("GET", "Patient/p9/_history/2"),
                    Self.entry("POST", "Patient", resource: Self.patient, fullUrl: Self.uuid),
                    Self.entry("PUT", "Patient/p1", resource: #"{"resourceType":"Patient","id":"p1"}"#, extra: #","ifMatch":"W/\"3\"""#),
                    Self.entry("DELETE", "Observation/o1"),
                    Self.entry("GET", "Patient/p2"),
                ]))
        #expect(bundle.kind == .transaction)
        let actions = try bundle.entries.map { try $0.action.get() }
        #expect(actions.map(\.method) == [.get, .post, .put, .delete, .get])
        #expect(actions[0] == .read(.patient, id: "p9", versionID: 2))
        #expect(actions[2].target == "Patient/p1")
        if case .update(_, _, _, let ifMatch) = actions[2] { #expect(ifMatch == #"W/"3""#) } else { Issue.record("not an update") }
        #expect(actions[3] == .delete(.observation, id: "o1"))
        #expect(bundle.entries[1].fullUrl == Self.uuid)
        #expect(actions.map(\.method.transactionOrder) == [3, 1, 2, 0, 3])
    }

    @Test("references: fullUrls at any depth are rewritten, unknown urn:uuid references reported, others untouched")
    func references() throws {
        let observation = try FHIRResource.parse(
            Array(
                #"""
                {"resourceType":"Observation","status":"final","code":{"text":"x"},
                 "subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"},
                 "performer":[{"reference":"Practitioner/keep"},{"reference":"urn:uuid:22222222-2222-2222-2222-222222222222"}],
                 "extension":[{"url":"http://x","valueReference":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"}}],
                 "note":[{"text":"urn:uuid:11111111-1111-1111-1111-111111111111"}]}
                """#.utf8))
        let (resolved, unresolved) = observation.resolvingReferences(["urn:uuid:11111111-1111-1111-1111-111111111111": "Patient/abc"])
        #expect(unresolved == ["urn:uuid:22222222-2222-2222-2222-222222222222"])
        let json = resolved.json
        #expect(json["subject"]?.objectValue?["reference"] == .string("Patient/abc"))
        #expect(json["performer"]?.arrayValue?[0].objectValue?["reference"] == .string("Practitioner/keep"))
        #expect(json["extension"]?.arrayValue?[0].objectValue?["valueReference"]?.objectValue?["reference"] == .string("Patient/abc"))
        // Only Reference.reference is rewritten, not text that happens to look the same.
        #expect(json["note"]?.arrayValue?[0].objectValue?["text"] == .string("urn:uuid:11111111-1111-1111-1111-111111111111"))
        #expect(resolved.json.keys == observation.json.keys, "member order is kept")
    }

    @Test("random corruptions of a real transaction never crash")
    func corruptions() throws {
        let lines = try Synthea.lines("Encounter").prefix(3).map { String(decoding: $0, as: UTF8.self) }
        let bundle = Self.bundle("transaction", lines.map { Self.entry("POST", "Encounter", resource: $0) })
        #expect(try FHIRBundle.parse(bundle).entries.count == 3)
        var generator = SplitMix64(seed: 0xB0B)
        for _ in 0..<300 {
            var corrupted = bundle
            corrupted[Int.random(in: 0..<corrupted.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            _ = try? FHIRBundle.parse(corrupted)
        }
        for length in stride(from: 0, to: bundle.count, by: 211) {
            #expect(throws: FHIRValidationError.self) { try FHIRBundle.parse(Array(bundle[..<length])) }
        }
    }
}

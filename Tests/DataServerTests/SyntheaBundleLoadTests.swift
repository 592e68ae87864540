import DataStore
import Foundation
import GRPCCore
import KeylakeProto
import SwiftProtobuf
import Testing

/// The real Synthea fixture loaded into a CMK datastore through transaction Bundles, as a
/// client would: shared resources (organizations, locations, practitioners) with PUT and their
/// own ids; patients and their records with POST and `urn:uuid:` fullUrls, references to
/// resources of the same Bundle written as those fullUrls and references to earlier Bundles
/// as the server ids they got. Every resource is read back (through batch GETs) and must equal
/// what was sent, apart from server-managed meta and the references fhird resolved.
// 7,160 resources sealed through kmsd in a debug build: minutes on a loaded two-core machine.
@Suite("fhird: Synthea through transaction Bundles", .timeLimit(.minutes(30)))
struct SyntheaBundleLoadTests {
    /// Referenced-first order: every Synthea reference points to an earlier type.
    static let sharedTypes = ["Organization", "Location", "Practitioner", "PractitionerRole"]
    static let patientTypes = [
        "Patient", "Encounter", "Condition", "AllergyIntolerance", "Device", "DocumentReference", "Immunization", "MedicationRequest",
        "Procedure",
    ]

    /// One resource as the client sends it.
    struct Sent {
        var originalReference: String  // Type/id in the NDJSON
        var method: String
        var resource: JSONObject  // as put in the Bundle (references rewritten by the client)
        var fullUrl: String?
    }

    /// `resource` with every `reference` element mapped by `map` (when it has a value for it).
    static func rewriting(_ value: JSONValue, _ map: (String) -> String?) -> JSONValue {
        switch value {
        case .object(let object):
            var members = object.members
            for position in members.indices {
                if members[position].key == "reference", case .string(let reference) = members[position].value, let mapped = map(reference) {
                    members[position].value = .string(mapped)
                } else {
                    members[position].value = Self.rewriting(members[position].value, map)
                }
            }
            return .object(JSONObject(members: members))
        case .array(let elements):
            return .array(elements.map { Self.rewriting($0, map) })
        default:
            return value
        }
    }

    @Test("every Synthea resource goes in through transactions of at most 500 entries and reads back equal")
    func load() async throws {
        try await withTestSystem { system in
            let cmk = try await system.createSeedKey()
            let ds = try await system.createDatastore(name: "synthea", cmk: cmk)

            var all: [(type: String, object: JSONObject)] = []
            for type in Self.sharedTypes + Self.patientTypes {
                for line in try Synthea.lines(type) {
                    all.append((type, try #require(try JSONValue.parse(line).objectValue)))
                }
            }
            #expect(all.count == 7160)

            // Load, 500 resources per transaction.
            var assigned: [String: String] = [:]  // original Type/id -> stored Type/id
            var resolvedURNs: [String: String] = [:]  // urn:uuid:<original id> -> stored Type/id
            var sent: [Sent] = []
            let started = ContinuousClock.now
            var transactions = 0
            for start in stride(from: 0, to: all.count, by: 500) {
                let chunk = all[start..<min(start + 500, all.count)]
                let inChunk = Set(chunk.map { "\($0.type)/\($0.object["id"]!.stringValue!)" })
                var chunkSent: [Sent] = []
                for (type, object) in chunk {
                    let id = object["id"]!.stringValue!
                    let original = "\(type)/\(id)"
                    let rewritten = Self.rewriting(.object(object)) { reference in
                        if let stored = assigned[reference] { return stored }
                        if inChunk.contains(reference), let target = reference.split(separator: "/").last { return "urn:uuid:\(target)" }
                        return nil
                    }.objectValue!
                    if Self.sharedTypes.contains(type) {
                        chunkSent.append(Sent(originalReference: original, method: "PUT", resource: rewritten, fullUrl: nil))
                    } else {
                        chunkSent.append(Sent(originalReference: original, method: "POST", resource: rewritten, fullUrl: "urn:uuid:\(id)"))
                    }
                }
                let bundle = Bundles.bundle(
                    "transaction",
                    chunkSent.map { item in
                        let type = String(item.originalReference.split(separator: "/")[0])
                        return Bundles.entry(item.method, item.method == "PUT" ? item.originalReference : type, resource: item.resource, fullUrl: item.fullUrl)
                    })
                let response = try await Bundles.send(system, ds, bundle)
                transactions += 1
                let entries = Bundles.entries(response)
                try #require(entries.count == chunkSent.count)
                for (item, entry) in zip(chunkSent, entries) {
                    #expect(Bundles.status(entry) == "201 Created", "\(item.originalReference)")
                    let stored = try #require(Bundles.reference(fromLocation: Bundles.location(entry)))
                    if item.method == "PUT" { #expect(stored == item.originalReference) }
                    assigned[item.originalReference] = stored
                    if let fullUrl = item.fullUrl { resolvedURNs[fullUrl] = stored }
                }
                sent += chunkSent
            }
            let loadTime = ContinuousClock.now - started
            #expect(transactions == 15)
            #expect(try Bundles.versions(system, ds) == 7160)

            // Read everything back with batch GETs of 500 and compare.
            let readStarted = ContinuousClock.now
            var compared = 0
            let storedReferences = Set(assigned.values)
            for start in stride(from: 0, to: sent.count, by: 500) {
                let chunk = Array(sent[start..<min(start + 500, sent.count)])
                let response = try await Bundles.send(
                    system, ds, Bundles.bundle("batch", chunk.map { Bundles.entry("GET", assigned[$0.originalReference]!) }))
                let entries = Bundles.entries(response)
                try #require(entries.count == chunk.count)
                for (item, entry) in zip(chunk, entries) {
                    #expect(Bundles.status(entry) == "200 OK", "\(item.originalReference): \(Bundles.diagnostics(entry))")
                    let read = try FHIRResource(json: try #require(entry["resource"]?.objectValue))
                    // What was sent, with the urn:uuid references the server resolved.
                    let expected = try FHIRResource(
                        json: Self.rewriting(.object(item.resource)) { resolvedURNs[$0] }.objectValue!)
                    #expect(read.clientContent == expected.clientContent, "\(item.originalReference)")
                    #expect(read.versionID == "1")
                    #expect("\(read.resourceType.name)/\(read.id ?? "")" == assigned[item.originalReference])
                    // No reference is left pointing at a Bundle-local urn:uuid, and every reference
                    // to a patient, encounter or condition names a stored resource.
                    _ = Self.rewriting(.object(read.json)) { reference in
                        #expect(!reference.hasPrefix("urn:uuid:"), "\(item.originalReference) refers to \(reference)")
                        if reference.hasPrefix("Patient/") || reference.hasPrefix("Encounter/") || reference.hasPrefix("Condition/") {
                            #expect(storedReferences.contains(reference), "\(item.originalReference) refers to \(reference)")
                        }
                        return nil
                    }
                    compared += 1
                }
            }
            let readTime = ContinuousClock.now - readStarted
            #expect(compared == 7160)

            // Every file under the data directory (database, WAL, shared memory, anything else):
            // none holds a loaded patient's names, identifiers, birth date, address or telecom.
            var secrets: Set<String> = []
            for (type, patient) in all where type == "Patient" {
                for name in patient["name"]?.arrayValue ?? [] {
                    if let family = name.objectValue?["family"]?.stringValue { secrets.insert(family) }
                    for given in name.objectValue?["given"]?.arrayValue ?? [] { given.stringValue.map { _ = secrets.insert($0) } }
                }
                for identifier in patient["identifier"]?.arrayValue ?? [] {
                    if let value = identifier.objectValue?["value"]?.stringValue { secrets.insert(value) }
                }
                if let birthDate = patient["birthDate"]?.stringValue { secrets.insert(birthDate) }
                for address in patient["address"]?.arrayValue ?? [] {
                    for line in address.objectValue?["line"]?.arrayValue ?? [] { line.stringValue.map { _ = secrets.insert($0) } }
                }
                for telecom in patient["telecom"]?.arrayValue ?? [] {
                    if let value = telecom.objectValue?["value"]?.stringValue { secrets.insert(value) }
                }
            }
            // Short values (a two-letter given name) could match ciphertext by chance.
            let needles = secrets.filter { $0.utf8.count >= 6 }.map { Data($0.utf8) }
            #expect(needles.count > 80, "\(needles.count) values to look for")
            var scanned: [String] = []
            var haystacks: [Data] = []
            let enumerator = try #require(FileManager.default.enumerator(atPath: system.dataDirectory))
            while let relative = enumerator.nextObject() as? String {
                let path = "\(system.dataDirectory)/\(relative)"
                guard let contents = FileManager.default.contents(atPath: path) else { continue }
                scanned.append(relative)
                haystacks.append(contents)
            }
            #expect(scanned.contains("fhir.sqlite"))
            for (file, bytes) in zip(scanned, haystacks) {
                for needle in needles where bytes.range(of: needle) != nil {
                    Issue.record("\(String(decoding: needle, as: UTF8.self)) found in \(file)")
                }
            }
            // The scan itself works: the datastore's name is stored in plaintext and is found.
            #expect(haystacks.contains { $0.range(of: Data("synthea".utf8)) != nil })
            print("Synthea through transaction Bundles (CMK): 7160 resources in \(transactions) transactions: load \(loadTime), read back via batch \(readTime)")
        }
    }
}

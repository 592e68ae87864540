// A resource body as a client sends it to create or update: the strict JSON parser, FHIR
// resource validation, and what the server does with a valid resource before sealing it
// (server-managed elements, reference scan, blind-index token extraction).
//
// Input: the body's bytes. Properties: whatever parses serialises to JSON that parses again to
// an equal value with identical bytes; a valid resource stays valid with its server-managed
// elements set, and keeps its client content.

import FuzzSupport

@testable import DataStore

/// The index a datastore would use; the key's value does not matter here.
private let index: BlindIndex = {
    var key = [UInt8](repeating: 7, count: 32)
    return BlindIndex(key: BlindIndexKey(bytes: &key))
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = bytes(data, size)

    if let value = try? JSONValue.parse(input) {
        let text = value.serialized()
        let again: JSONValue
        do {
            again = try JSONValue.parse(text)
        } catch {
            fatalError("serialized JSON does not parse again: \(error)")
        }
        require(again == value, "JSON round trip changed the value")
        require(again.serialized() == text, "JSON serialization is not stable")
    }

    guard let resource = try? FHIRResource.parse(input) else { return 0 }
    let text = resource.serialized()
    let again: FHIRResource
    do {
        again = try FHIRResource.parse(text)
    } catch {
        fatalError("a serialized valid resource is no longer valid: \(error)")
    }
    require(again == resource, "resource round trip changed the resource")
    require(again.serialized() == text, "resource serialization is not stable")

    // As a create stores it: server id, version and time, then the blind tokens.
    let stored = resource.settingServerManagedElements(
        id: "fuzz-1", versionID: "1", lastUpdated: FHIRInstant.format(millisecondsSince1970: 1_700_000_000_123))
    let storedAgain: FHIRResource
    do {
        storedAgain = try FHIRResource.parse(stored.serialized())
    } catch {
        fatalError("a stored version does not read back as a valid resource: \(error)")
    }
    require(storedAgain.id == "fuzz-1" && storedAgain.versionID == "1", "server-managed elements not kept")
    require(stored.clientContent == resource.clientContent, "setting server-managed elements changed the client content")
    _ = index.extractTokens(from: stored)
    _ = resource.resolvingReferences([:])
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

/// The smallest Synthea resource of every type in Tests/Fixtures/synthea-10, as a client would
/// create it, and the OperationOutcome the server answers a bad one with.
private func seeds() throws -> [Seed] {
    let types = [
        "AllergyIntolerance", "Condition", "Device", "DocumentReference", "Encounter", "Immunization", "Location",
        "MedicationRequest", "Organization", "Patient", "Practitioner", "PractitionerRole", "Procedure",
    ]
    var seeds = try types.map { type in
        let lines = try fixtureLines("Tests/Fixtures/synthea-10/\(type).000.ndjson")
        return Seed("synthea-\(type)", lines.min { $0.utf8.count < $1.utf8.count }!)
    }
    let outcome = OperationOutcome(code: .structure, diagnostics: "resourceType is missing", expression: ["resourceType"])
    seeds.append(Seed("operation-outcome", outcome.serialized()))
    return seeds
}

// A batch or transaction Bundle as fhird's ProcessBundle receives it: FHIRBundle.parse, then
// what FHIRService.processBundle does before it touches keys or storage: the operations it
// authorises, and for a transaction the server ids and fullUrl targets
// (FHIRService.referenceTargets) and urn:uuid reference resolution (FHIRService.resolving) in
// FHIR's processing order, then the stored version (server-managed elements, blind tokens); for
// a batch, resolution without targets.
//
// Input: the Bundle's bytes. Properties: a parsed transaction has no failed entry; a resolved
// resource is still a valid resource of its type once its server-managed elements are set.

import FuzzSupport

@testable import DataServer
@testable import DataStore

private let index: BlindIndex = {
    var key = [UInt8](repeating: 7, count: 32)
    return BlindIndex(key: BlindIndexKey(bytes: &key))
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let bundle = try? FHIRBundle.parse(bytes(data, size)) else { return 0 }
    _ = Set(bundle.entries.compactMap { entry in (try? entry.action.get()).map(FHIRService.operation) })
    for entry in bundle.entries {
        if case .success(let action) = entry.action { _ = FHIRService.describe(action) }
    }

    switch bundle.kind {
    case .batch:
        for entry in bundle.entries {
            switch entry.action {
            case .success(.create(let resource)):
                if let resolved = try? FHIRService.resolving(resource, [:], entry: entry, batch: true) {
                    store(resolved, id: "00000000-0000-4000-8000-000000000001")
                }
            case .success(.update(_, let id, let resource, _)):
                if let resolved = try? FHIRService.resolving(resource, [:], entry: entry, batch: true) {
                    store(resolved, id: id)
                }
            default:
                break
            }
        }
    case .transaction:
        let actions: [FHIRBundle.Action] = bundle.entries.map { entry in
            switch entry.action {
            case .success(let action): return action
            case .failure(let error): fatalError("a transaction was accepted with a failed entry: \(error)")
            }
        }
        var made = 0
        let (assignedIDs, targets) = FHIRService.referenceTargets(bundle, actions: actions) {
            made += 1
            return "00000000-0000-4000-8000-\(String(made, radix: 16).leftPadded(to: 12))"
        }
        let order = bundle.entries.indices.sorted {
            (actions[$0].method.transactionOrder, $0) < (actions[$1].method.transactionOrder, $1)
        }
        for position in order {
            let entry = bundle.entries[position]
            switch actions[position] {
            case .create(let resource):
                guard let id = assignedIDs[position] else { fatalError("a create got no server id") }
                if let resolved = try? FHIRService.resolving(resource, targets, entry: entry, batch: false) {
                    store(resolved, id: id)
                }
            case .update(let type, let id, let resource, _):
                require(resource.resourceType == type, "an update's resource is not of its URL's type")
                if let resolved = try? FHIRService.resolving(resource, targets, entry: entry, batch: false) {
                    store(resolved, id: id)
                }
            case .delete, .read:
                break
            }
        }
    }
    return 0
}

/// What FHIRService.seal does with a resolved resource before encrypting it.
private func store(_ resource: FHIRResource, id: String) {
    let stored = resource.settingServerManagedElements(
        id: id, versionID: "1", lastUpdated: FHIRInstant.format(millisecondsSince1970: 1_700_000_000_000))
    do {
        let again = try FHIRResource.parse(stored.serialized())
        require(again.resourceType == resource.resourceType, "the stored version changed type")
    } catch {
        fatalError("a resolved resource is no longer valid: \(error)")
    }
    _ = index.extractTokens(from: stored)
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - self.count)) + self
    }
}

// MARK: - Seeds

@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    makeCorpusIfAsked(argc, argv, seeds: seeds)
    return 0
}

/// Bundles made of Synthea resources (Tests/Fixtures/synthea-10, the smallest of each type), as a
/// Synthea transaction Bundle is: a new Patient under a urn:uuid fullUrl, resources that refer to
/// it by that urn:uuid, an update by id; and a batch of reads, a versioned read, a delete, an
/// update and a create.
private func seeds() throws -> [Seed] {
    func smallest(_ type: String) throws -> JSONObject {
        let lines = try fixtureLines("Tests/Fixtures/synthea-10/\(type).000.ndjson")
        let line = lines.min { $0.utf8.count < $1.utf8.count }!
        return try JSONValue.parse(Array(line.utf8)).objectValue!
    }
    func entry(_ resource: JSONObject?, method: String, url: String, fullUrl: String? = nil) -> JSONValue {
        var entry = JSONObject()
        if let fullUrl { entry["fullUrl"] = .string(fullUrl) }
        if let resource { entry["resource"] = .object(resource) }
        entry["request"] = .object(["method": .string(method), "url": .string(url)])
        return .object(entry)
    }
    func bundle(_ type: String, _ entries: [JSONValue]) -> [UInt8] {
        let object: JSONObject = ["resourceType": .string("Bundle"), "type": .string(type), "entry": .array(entries)]
        return object.serialized()
    }
    var patient = try smallest("Patient")
    let patientID = patient["id"]!.stringValue!
    let patientURN = "urn:uuid:\(patientID)"
    patient["id"] = nil
    var encounter = try smallest("Encounter")
    let encounterURN = "urn:uuid:\(encounter["id"]!.stringValue!)"
    encounter["id"] = nil
    encounter["subject"] = .object(["reference": .string(patientURN)])
    var condition = try smallest("Condition")
    condition["id"] = nil
    condition["subject"] = .object(["reference": .string(patientURN)])
    condition["encounter"] = .object(["reference": .string(encounterURN)])
    var immunization = try smallest("Immunization")
    immunization["id"] = nil
    immunization["patient"] = .object(["reference": .string(patientURN)])
    let practitioner = try smallest("Practitioner")
    let practitionerID = practitioner["id"]!.stringValue!

    return [
        Seed("transaction-patient-encounter-condition", bundle("transaction", [
            entry(patient, method: "POST", url: "Patient", fullUrl: patientURN),
            entry(encounter, method: "POST", url: "Encounter", fullUrl: encounterURN),
            entry(condition, method: "POST", url: "Condition"),
        ])),
        Seed("transaction-update-and-create", bundle("transaction", [
            entry(practitioner, method: "PUT", url: "Practitioner/\(practitionerID)", fullUrl: "Practitioner/\(practitionerID)"),
            entry(patient, method: "POST", url: "Patient", fullUrl: patientURN),
            entry(immunization, method: "POST", url: "Immunization"),
            entry(nil, method: "GET", url: "Patient/\(patientID)"),
            entry(nil, method: "DELETE", url: "Condition/\(patientID)"),
        ])),
        Seed("batch-reads-delete-update", bundle("batch", [
            entry(nil, method: "GET", url: "Patient/\(patientID)"),
            entry(nil, method: "GET", url: "Patient/\(patientID)/_history/1"),
            entry(nil, method: "DELETE", url: "Encounter/\(patientID)"),
            entry(practitioner, method: "PUT", url: "Practitioner/\(practitionerID)"),
            entry(try smallest("Location"), method: "POST", url: "Location"),
        ])),
        Seed("transaction-unresolved-urn", bundle("transaction", [entry(immunization, method: "POST", url: "Immunization")])),
    ]
}

import DataServer
import DataStore
import Foundation
import GRDB
import GRPCCore
import KeylakeProto
import SwiftProtobuf
import Testing

/// fhird over real mTLS against an in-process kmsd: datastores under service-owned and
/// customer-managed keys, Synthea patients in and out, and what revoking, disabling and
/// enabling the customer's key does to the very next call.
@Suite("fhird: datastores, resources, keys", .timeLimit(.minutes(5)))
struct HealthLakeServiceTests {
    /// The Synthea patients, as sent.
    static func patients() throws -> [(id: String, json: [UInt8], object: [String: Any])] {
        try Synthea.lines("Patient").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            return (object["id"] as! String, line, object)
        }
    }

    /// Loads every patient with its own id (update-as-create); returns the ids.
    static func loadPatients(_ system: TestSystem, datastore: String) async throws -> [String] {
        var ids: [String] = []
        for patient in try Self.patients() {
            let response = try await system.app.updateResource(
                .with {
                    $0.datastoreID = datastore
                    $0.resourceType = "Patient"
                    $0.id = patient.id
                    $0.resource = Data(patient.json)
                }, options: .test)
            #expect(response.created)
            #expect(response.versionID == "1")
            ids.append(patient.id)
        }
        return ids
    }

    static func read(_ system: TestSystem, _ datastore: String, _ id: String) async throws -> Keylake_Healthlake_V1_ResourceResponse {
        try await system.app.readResource(.with { $0.datastoreID = datastore; $0.resourceType = "Patient"; $0.id = id }, options: .test)
    }

    /// The resource's client content (server-managed meta removed) for comparison.
    static func clientContent(_ bytes: some Collection<UInt8>) throws -> JSONObject {
        try FHIRResource.parse(Array(bytes)).clientContent
    }

    static func search(
        _ system: TestSystem, _ datastore: String, _ parameters: [(String, String)], count: Int32 = 0
    ) async throws -> Keylake_Healthlake_V1_SearchResourcesResponse {
        try await system.app.searchResources(
            .with {
                $0.datastoreID = datastore
                $0.resourceType = "Patient"
                $0.parameters = parameters.map { name, value in .with { $0.name = name; $0.value = value } }
                $0.count = count
            }, options: .test)
    }

    @Test("service-owned and CMK datastores: create, read, update, search Synthea patients")
    func crudAndSearch() async throws {
        try await withTestSystem { system in
            let cmk = try await system.createSeedKey()
            let serviceOwned = try await system.createDatastore(name: "service-owned")
            let customer = try await system.createDatastore(name: "customer", cmk: cmk)
            let described = try await system.app.describeFHIRDatastore(.with { $0.datastoreID = customer }, options: .test).datastoreProperties
            #expect(described.datastoreStatus == .active)
            #expect(described.sseConfiguration.kmsEncryptionConfig.cmkType == .customerManagedKmsKey)
            #expect(described.sseConfiguration.kmsEncryptionConfig.kmsKeyID == cmk)
            let grants = try await system.kmsAdmin.listGrants(.with { $0.keyID = cmk }, options: .test).grants
            #expect(grants.count == 1)
            #expect(grants.first?.granteePrincipal == Principals.service)
            #expect(grants.first?.retiringPrincipal == Principals.service)
            #expect(Set(grants.first?.operations ?? []) == Set(KeyServiceClient.grantOperations))

            let patients = try Self.patients()
            for datastore in [serviceOwned, customer] {
                _ = try await Self.loadPatients(system, datastore: datastore)
                for patient in patients {
                    let read = try await Self.read(system, datastore, patient.id)
                    #expect(try Self.clientContent(read.resource) == Self.clientContent(patient.json), "\(patient.id)")
                    #expect(read.versionID == "1")
                }
                // Search by family name, compared with an independent computation over the NDJSON.
                for patient in patients.prefix(4) {
                    let family = ((patient.object["name"] as! [[String: Any]])[0]["family"] as! String)
                    let expected = Set(
                        patients.filter { other in
                            (other.object["name"] as! [[String: Any]]).contains { ($0["family"] as? String) == family }
                        }.map(\.id))
                    let found = try await Self.search(system, datastore, [("family:exact", family)])
                    #expect(Set(found.ids) == expected, "family \(family)")
                }
                let females = Set(patients.filter { ($0.object["gender"] as? String) == "female" }.map(\.id))
                let found = try await Self.search(system, datastore, [("gender", "female")])
                #expect(Set(found.ids) == females)
                // Paging: two at a time covers everything once.
                var paged: [String] = []
                var token = ""
                repeat {
                    let page = try await system.app.searchResources(
                        .with { $0.datastoreID = datastore; $0.resourceType = "Patient"; $0.count = 2; $0.pageToken = token }, options: .test)
                    paged += page.ids
                    token = page.nextPageToken
                } while !token.isEmpty
                #expect(paged.count == patients.count)
                #expect(Set(paged) == Set(patients.map(\.id)))
                // Unknown parameters are errors.
                let unknown = try await failure { try await Self.search(system, datastore, [("shoe-size", "42")]) }
                #expect(unknown?.name == "ValidationException")
            }

            // Update with If-Match; a stale version is refused and nothing changes.
            let first = patients[0]
            var changed = first.object
            changed["gender"] = "other"
            let body = try JSONSerialization.data(withJSONObject: changed)
            let updated = try await system.app.updateResource(
                .with { $0.datastoreID = customer; $0.resourceType = "Patient"; $0.id = first.id; $0.resource = body; $0.ifMatchVersionID = "1" },
                options: .test)
            #expect(updated.versionID == "2")
            #expect(!updated.created)
            let stale = try await failure {
                try await system.app.updateResource(
                    .with { $0.datastoreID = customer; $0.resourceType = "Patient"; $0.id = first.id; $0.resource = body; $0.ifMatchVersionID = "1" },
                    options: .test)
            }
            #expect(stale?.name == "VersionConflictException")
            #expect(stale?.code == .aborted)
            let others = try await Self.search(system, customer, [("gender", "other")])
            #expect(others.ids == [first.id])
            let v1 = try await system.app.vReadResource(
                .with { $0.datastoreID = customer; $0.resourceType = "Patient"; $0.id = first.id; $0.versionID = "1" }, options: .test)
            #expect(try Self.clientContent(v1.resource) == Self.clientContent(first.json))
            let history = try await system.app.resourceHistory(
                .with { $0.datastoreID = customer; $0.resourceType = "Patient"; $0.id = first.id }, options: .test)
            #expect(history.entries.map(\.versionID) == ["2", "1"])

            // Create with a server id, then delete: read says not found, history keeps it.
            let created = try await system.app.createResource(.with { $0.datastoreID = customer; $0.resource = Data(first.json) }, options: .test)
            #expect(created.id != first.id)
            let deleted = try await system.app.deleteResource(
                .with { $0.datastoreID = customer; $0.resourceType = "Patient"; $0.id = created.id }, options: .test)
            #expect(deleted.versionID == "2")
            let gone = try await failure { try await Self.read(system, customer, created.id) }
            #expect(gone?.name == "ResourceNotFoundException")

            // Bad input: rejected with an OperationOutcome, nothing stored.
            let bad = try await failure {
                try await system.app.createResource(.with { $0.datastoreID = customer; $0.resource = Data("{\"resourceType\":\"Nope\"}".utf8) }, options: .test)
            }
            #expect(bad?.name == "ValidationException")
            #expect(bad?.outcome.contains("OperationOutcome") == true)

            let capabilities = try await system.app.capabilities(.init(), options: .test)
            #expect(String(decoding: capabilities.capabilityStatement, as: UTF8.self).contains("\"birthdate\""))
        }
    }

    @Test("CMK datastore: disable/enable restores reads exactly; revoking the grant stops read, write and search; service-owned keeps working")
    func revocation() async throws {
        try await withTestSystem { system in
            let cmk = try await system.createSeedKey()
            let serviceOwned = try await system.createDatastore(name: "service-owned")
            let customer = try await system.createDatastore(name: "customer", cmk: cmk)
            let ids = try await Self.loadPatients(system, datastore: customer)
            _ = try await Self.loadPatients(system, datastore: serviceOwned)
            var before: [String: Data] = [:]
            for id in ids { before[id] = try await Self.read(system, customer, id).resource }
            let patient = try Self.patients()[0]

            // Disabled: the next read, write and search fail naming the key; nothing is written.
            _ = try await system.kmsAdmin.disableKey(.with { $0.keyID = cmk }, options: .test)
            for call in ["read", "write", "search"] {
                let refused = try await failure { try await Self.call(call, system, customer, patient) }
                #expect(refused?.name == "KmsKeyDisabledException", "\(call): \(String(describing: refused))")
                #expect(refused?.code == .failedPrecondition)
                #expect(refused?.message.contains(cmk) == true, "\(call): \(String(describing: refused))")
            }
            _ = try await Self.read(system, serviceOwned, ids[0])
            _ = try await system.kmsAdmin.enableKey(.with { $0.keyID = cmk }, options: .test)
            for id in ids {
                #expect(try await Self.read(system, customer, id).resource == before[id], "\(id) after enable")
            }
            let history = try await system.app.resourceHistory(.with { $0.datastoreID = customer; $0.resourceType = "Patient" }, options: .test)
            #expect(history.entries.count == ids.count, "the refused write left nothing behind")

            // Revoke the grant: the same three calls fail with access denied, naming the key.
            let grant = try #require(try await system.kmsAdmin.listGrants(.with { $0.keyID = cmk }, options: .test).grants.first)
            _ = try await system.kmsAdmin.revokeGrant(.with { $0.keyID = cmk; $0.grantID = grant.grantID }, options: .test)
            for call in ["read", "write", "search"] {
                let refused = try await failure { try await Self.call(call, system, customer, patient) }
                #expect(refused?.name == "KmsKeyAccessDeniedException", "\(call): \(String(describing: refused))")
                #expect(refused?.code == .permissionDenied)
                #expect(refused?.message.contains(cmk) == true)
                #expect(refused?.outcome.contains("\"security\"") == true)
            }
            // The service-owned datastore is untouched.
            for call in ["read", "write", "search"] {
                #expect(try await failure { try await Self.call(call, system, serviceOwned, patient) } == nil, "\(call)")
            }
        }
    }

    /// One read, write or search of `patient` in `datastore`.
    static func call(_ kind: String, _ system: TestSystem, _ datastore: String, _ patient: (id: String, json: [UInt8], object: [String: Any])) async throws {
        switch kind {
        case "read":
            _ = try await Self.read(system, datastore, patient.id)
        case "write":
            _ = try await system.app.createResource(.with { $0.datastoreID = datastore; $0.resource = Data(patient.json) }, options: .test)
        default:
            _ = try await Self.search(system, datastore, [("family", "a")])
        }
    }

    @Test("a disabled or missing CMK is refused before anything is created")
    func unusableKey() async throws {
        try await withTestSystem { system in
            let cmk = try await system.createSeedKey()
            _ = try await system.kmsAdmin.disableKey(.with { $0.keyID = cmk }, options: .test)
            let disabled = try await failure { try await system.createDatastore(name: "disabled", cmk: cmk) }
            #expect(disabled?.name == "KmsKeyDisabledException")
            #expect(disabled?.message.contains(cmk) == true)
            let missing = try await failure {
                try await system.createDatastore(name: "missing", cmk: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000")
            }
            #expect(missing?.name == "KmsKeyNotFoundException", "\(String(describing: missing))")
            let listed = try await system.app.listFHIRDatastores(.init(), options: .test)
            #expect(listed.datastorePropertiesList.isEmpty)
            let grants = try await system.kmsAdmin.listGrants(.with { $0.keyID = cmk }, options: .test).grants
            #expect(grants.isEmpty)
        }
    }

    @Test("a ciphertext copied to another row fails to decrypt; no patient name is on disk; delete retires the grant")
    func atRest() async throws {
        try await withTestSystem { system in
            let cmk = try await system.createSeedKey()
            let customer = try await system.createDatastore(name: "customer", cmk: cmk)
            let ids = try await Self.loadPatients(system, datastore: customer)

            // Nothing readable on disk: scan every file for every patient's names.
            var names: Set<String> = []
            for patient in try Self.patients() {
                for name in patient.object["name"] as! [[String: Any]] {
                    if let family = name["family"] as? String { names.insert(family) }
                    for given in name["given"] as? [String] ?? [] { names.insert(given) }
                }
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: system.dataDirectory)
            #expect(files.contains("fhir.sqlite"))
            for file in files {
                let contents = try Data(contentsOf: URL(fileURLWithPath: "\(system.dataDirectory)/\(file)"))
                for name in names where name.count >= 3 {
                    #expect(contents.range(of: Data(name.utf8)) == nil, "\(file) contains \(name)")
                }
            }

            // Copy patient 0's sealed version into patient 1's row.
            let database = try DatabaseQueue(path: "\(system.dataDirectory)/fhir.sqlite")
            try await database.write { db in
                try db.execute(
                    sql: """
                        UPDATE resource_version SET sealed = (SELECT sealed FROM resource_version WHERE resource_id = ?)
                        WHERE resource_id = ?
                        """,
                    arguments: [ids[0], ids[1]])
            }
            try database.close()
            let swapped = try await failure { try await Self.read(system, customer, ids[1]) }
            #expect(swapped?.name == "DecryptionFailedException", "\(String(describing: swapped))")
            #expect(swapped?.code == .dataLoss)
            _ = try await Self.read(system, customer, ids[0])

            // Delete: DELETED, data gone, grant retired.
            let deleted = try await system.app.deleteFHIRDatastore(.with { $0.datastoreID = customer }, options: .test)
            #expect(deleted.datastoreStatus == .deleted)
            let grants = try await system.kmsAdmin.listGrants(.with { $0.keyID = cmk }, options: .test).grants
            #expect(grants.isEmpty)
            let afterDelete = try await failure { try await Self.read(system, customer, ids[0]) }
            #expect(afterDelete?.name == "DatastoreNotActiveException")
        }
    }
}

import Foundation
import GRDB
import Testing

@testable import DataStore

@Suite("Synthea through seal, index and store")
struct SyntheaLoadTests {
    @Test("every resource reads back equal, searches match, and no patient PHI is on disk")
    func loadAll() async throws {
        let fixture = try await StoreFixture()
        defer { fixture.remove() }
        let index = try await fixture.index()
        let store = fixture.store, ds = fixture.datastore.id

        var sent: [String: FHIRResource] = [:]
        for type in Synthea.resourceFiles {
            var batch: [ResourceWrite] = []
            for line in try Synthea.lines(type) {
                let resource = try FHIRResource.parse(line)
                sent["\(type)/\(resource.id!)"] = resource
                batch.append(try await fixture.write(resource, versionID: 1, index: index))
                if batch.count == 250 {
                    try store.commit(batch)
                    batch = []
                }
            }
            try store.commit(batch)
        }
        #expect(sent.count == 7160)

        // Read every resource back: equal to what was sent, apart from server-managed meta.
        for (key, original) in sent {
            let parts = key.split(separator: "/")
            let stored = try store.read(datastoreID: ds, resourceType: FHIRResourceType(String(parts[0]))!, resourceID: String(parts[1]))
            let opened = try await fixture.open(stored)
            #expect(opened.clientContent == original.clientContent, "\(key)")
            #expect(opened.versionID == "1")
        }

        // Searches through the store match an independent computation over the NDJSON.
        let patients = try Synthea.foundationObjects("Patient")
        let family = ((patients[3]["name"] as! [[String: Any]])[0]["family"] as! String)
        let prefix = String(family.prefix(3))
        let familyClause = try index.clause(for: SearchParameterTable.r4.parameter(named: "family", for: .patient)!, value: prefix)
        let expectedFamily = Set(patients.filter { patient in
            (patient["name"] as! [[String: Any]]).contains { ($0["family"] as? String)?.lowercased().hasPrefix(prefix.lowercased()) == true }
        }.map { $0["id"] as! String })
        #expect(Set(try store.search(datastoreID: ds, resourceType: .patient, clauses: [familyClause])) == expectedFamily)

        let patientID = patients[3]["id"] as! String
        let encounters = try Synthea.foundationObjects("Encounter")
        let patientClause = try index.clause(for: SearchParameterTable.r4.parameter(named: "patient", for: .encounter)!, value: patientID)
        let dateClause = try index.clause(for: SearchParameterTable.r4.parameter(named: "date", for: .encounter)!, value: "ge2010-01-01")
        let expectedEncounters = Set(encounters.filter { encounter in
            (encounter["subject"] as? [String: Any])?["reference"] as? String == "Patient/\(patientID)"
                && ((encounter["period"] as! [String: Any])["start"] as! String).prefix(10) >= "2010-01-01"
        }.map { $0["id"] as! String })
        let found = try store.search(datastoreID: ds, resourceType: .encounter, clauses: [patientClause, dateClause], limit: 10_000)
        #expect(Set(found) == expectedEncounters)
        #expect(!expectedEncounters.isEmpty)

        // Nothing on disk holds a patient's names, SSN or birth date: database, WAL and shared memory.
        let secrets = try PatientSecrets.load().map { Array($0.utf8) }
        #expect(secrets.count > 30)
        var scanned = 0
        for suffix in ["", "-wal", "-shm"] {
            let path = store.path + suffix
            guard let contents = FileManager.default.contents(atPath: path) else { continue }
            scanned += 1
            let bytes = [UInt8](contents)
            for secret in secrets {
                #expect(!bytes.contains(subsequence: secret), "\(String(decoding: secret, as: UTF8.self)) found in \(path)")
            }
        }
        #expect(scanned >= 2)
        // The check itself works: a known plaintext (the datastore's name) is found.
        let main = [UInt8](FileManager.default.contents(atPath: store.path)! + (FileManager.default.contents(atPath: store.path + "-wal") ?? Data()))
        #expect(main.contains(subsequence: Array("test ds-1".utf8)))
    }
}

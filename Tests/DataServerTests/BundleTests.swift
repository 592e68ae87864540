import DataServer
import DataStore
import Foundation
import GRPCCore
import KeylakeProto
import SwiftProtobuf
import Testing

/// Batch and transaction Bundles over real mTLS against an in-process kmsd.
@Suite("fhird: batch and transaction Bundles", .timeLimit(.minutes(10)))
struct BundleTests {
    static let patientText = #"{"resourceType":"Patient","name":[{"family":"Bundleson","given":["Bea"]}],"gender":"female","birthDate":"1980-02-03"}"#

    static func patient(id: String? = nil, family: String = "Bundleson") throws -> JSONObject {
        var object = try Bundles.object(Self.patientText)
        object["name"] = .array([.object(["family": .string(family)])])
        if let id { object["id"] = .string(id) }
        return object
    }

    static func observation(subject: String, performer: String? = nil) throws -> JSONObject {
        var object = try Bundles.object(
            #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":72.50,"unit":"/min"}}"#)
        object["subject"] = .object(["reference": .string(subject)])
        if let performer { object["performer"] = .array([.object(["reference": .string(performer), "display": .string("x")])]) }
        return object
    }

    static func uuid() -> String { "urn:uuid:" + UUID().uuidString.lowercased() }

    /// Creates `Patient/<id>` at version 1 with a PUT.
    static func put(_ system: TestSystem, _ datastore: String, _ id: String) async throws {
        let json = try Self.patient(id: id).serialized()
        _ = try await system.app.updateResource(
            .with { $0.datastoreID = datastore; $0.resourceType = "Patient"; $0.id = id; $0.resource = Data(json) }, options: .test)
    }

    @Test("batch: entries succeed and fail independently, each with status, location, etag, lastModified or an outcome")
    func batch() async throws {
        try await withTestSystem { system in
            let ds = try await system.createDatastore(name: "batch")
            try await Self.put(system, ds, "p1")
            let response = try await Bundles.send(
                system, ds,
                Bundles.bundle(
                    "batch",
                    [
                        Bundles.entry("POST", "Patient", resource: try Self.patient()),  // 0 created
                        Bundles.entry("PUT", "Patient/p1", resource: try Self.patient(id: "p1"), ifMatch: #"W/"9""#),  // 1 stale If-Match
                        Bundles.entry("GET", "Patient/missing"),  // 2 not found
                        Bundles.entry("POST", "Patient", resource: try Bundles.object(#"{"resourceType":"Patient","id":"not valid!"}"#)),  // 3 invalid
                        Bundles.entry("PUT", "Patient/p2", resource: try Self.patient(id: "p2")),  // 4 update-as-create
                        Bundles.entry("GET", "Patient?name=x"),  // 5 search in a Bundle: not supported
                        Bundles.entry("POST", "Observation", resource: try Self.observation(subject: Self.uuid())),  // 6 unresolvable
                        Bundles.entry("DELETE", "Patient/nobody"),  // 7 delete of nothing
                        Bundles.entry("GET", "Patient/p1/_history/1"),  // 8 vread
                    ]))
            #expect(response["type"] == .string("batch-response"))
            let entries = Bundles.entries(response)
            try #require(entries.count == 9)
            #expect(entries.map(Bundles.status) == [
                "201 Created", "412 Precondition Failed", "404 Not Found", "400 Bad Request", "201 Created", "400 Bad Request",
                "400 Bad Request", "204 No Content", "200 OK",
            ])
            let created = try #require(Bundles.reference(fromLocation: Bundles.location(entries[0])))
            #expect(created.hasPrefix("Patient/"))
            #expect(entries[0]["response"]?.objectValue?["etag"] == .string(#"W/"1""#))
            #expect(entries[0]["response"]?.objectValue?["lastModified"]?.stringValue?.hasSuffix("Z") == true)
            #expect(Bundles.location(entries[4]) == "Patient/p2/_history/1")
            #expect(Bundles.diagnostics(entries[1]).contains("entry 1 (PUT Patient/p1)"), "\(Bundles.diagnostics(entries[1]))")
            #expect(Bundles.diagnostics(entries[1]).contains("at version 1, not 9"))
            #expect(Bundles.diagnostics(entries[2]).contains("entry 2 (GET Patient/missing)"))
            #expect(Bundles.diagnostics(entries[3]).contains("entry 3: id must be"))
            #expect(Bundles.diagnostics(entries[5]).contains("not supported"))
            #expect(Bundles.diagnostics(entries[6]).contains("cannot be resolved"))
            #expect(entries[8]["resource"]?.objectValue?["id"] == .string("p1"))
            // The successes are stored, the failures left nothing.
            #expect(try await Bundles.read(system, ds, created) != nil)
            #expect(try await Bundles.read(system, ds, "Patient/p2")?.versionID == "1")
            #expect(try await Bundles.read(system, ds, "Patient/p1")?.versionID == "1")
            #expect(try Bundles.versions(system, ds) == 3)

            // The CapabilityStatement says so.
            let statement = try await system.app.capabilities(.init(), options: .test).capabilityStatement
            let rest = try #require(try JSONValue.parse(Array(statement)).objectValue?["rest"]?.arrayValue?.first?.objectValue)
            let interactions = rest["interaction"]?.arrayValue?.compactMap { $0.objectValue?["code"]?.stringValue }
            #expect(interactions == ["batch", "transaction"])
        }
    }

    @Test("transaction: urn:uuid fullUrls become server ids and references anywhere are rewritten; FHIR processing order")
    func transactionReferences() async throws {
        try await withTestSystem { system in
            let ds = try await system.createDatastore(name: "transaction")
            try await Self.put(system, ds, "old")
            try await Self.put(system, ds, "kept")
            let patientURL = Self.uuid(), practitionerURL = Self.uuid(), encounterURL = Self.uuid()
            var condition = try Bundles.object(#"{"resourceType":"Condition","code":{"text":"flu"}}"#)
            condition["subject"] = .object(["reference": .string(patientURL)])
            condition["encounter"] = .object(["reference": .string(encounterURL)])
            condition["evidence"] = .array([.object(["detail": .array([.object(["reference": .string(patientURL)])])])])
            var encounter = try Bundles.object(#"{"resourceType":"Encounter","id":"enc-1","status":"finished","class":{"code":"AMB"}}"#)
            encounter["subject"] = .object(["reference": .string(patientURL)])
            let response = try await Bundles.send(
                system, ds,
                Bundles.bundle(
                    "transaction",
                    [
                        Bundles.entry("GET", "Patient/kept"),  // 0 read, processed last
                        Bundles.entry("POST", "Observation", resource: try Self.observation(subject: patientURL, performer: practitionerURL)),  // 1
                        Bundles.entry("POST", "Patient", resource: try Self.patient(id: "client-id-ignored"), fullUrl: patientURL),  // 2
                        Bundles.entry("POST", "Practitioner", resource: try Bundles.object(#"{"resourceType":"Practitioner"}"#), fullUrl: practitionerURL),  // 3
                        Bundles.entry("PUT", "Encounter/enc-1", resource: encounter, fullUrl: encounterURL),  // 4
                        Bundles.entry("POST", "Condition", resource: condition),  // 5
                        Bundles.entry("DELETE", "Patient/old"),  // 6
                        Bundles.entry("GET", "Patient/old/_history/1"),  // 7 the old version stays readable
                    ]))
            #expect(response["type"] == .string("transaction-response"))
            let entries = Bundles.entries(response)
            try #require(entries.count == 8)
            #expect(entries.map(Bundles.status) == ["200 OK", "201 Created", "201 Created", "201 Created", "201 Created", "201 Created", "204 No Content", "200 OK"])
            let patient = try #require(Bundles.reference(fromLocation: Bundles.location(entries[2])))
            let practitioner = try #require(Bundles.reference(fromLocation: Bundles.location(entries[3])))
            #expect(patient != "Patient/client-id-ignored")
            #expect(Bundles.location(entries[4]) == "Encounter/enc-1/_history/1")
            #expect(entries[6]["response"]?.objectValue?["etag"] == .string(#"W/"2""#))

            let observationReference = try #require(Bundles.reference(fromLocation: Bundles.location(entries[1])))
            let observation = try #require(try await Bundles.read(system, ds, observationReference))
            #expect(observation.json["subject"]?.objectValue?["reference"] == .string(patient))
            #expect(observation.json["performer"]?.arrayValue?.first?.objectValue?["reference"] == .string(practitioner))
            // Apart from the references and server-managed meta, what was sent.
            let expectedObservation = try FHIRResource(json: try Self.observation(subject: patient, performer: practitioner))
            #expect(observation.clientContent == expectedObservation.clientContent)
            let conditionReference = try #require(Bundles.reference(fromLocation: Bundles.location(entries[5])))
            let storedCondition = try #require(try await Bundles.read(system, ds, conditionReference))
            #expect(storedCondition.json["encounter"]?.objectValue?["reference"] == .string("Encounter/enc-1"))
            #expect(
                storedCondition.json["evidence"]?.arrayValue?.first?.objectValue?["detail"]?.arrayValue?.first?.objectValue?["reference"]
                    == .string(patient))
            let storedEncounter = try #require(try await Bundles.read(system, ds, "Encounter/enc-1"))
            #expect(storedEncounter.json["subject"]?.objectValue?["reference"] == .string(patient))
            #expect(try await Bundles.read(system, ds, "Patient/old") == nil)
            #expect(entries[7]["resource"]?.objectValue?["id"] == .string("old"))
            // Every version of the transaction has the same lastUpdated.
            let stamps = Set(entries[1...5].compactMap { $0["response"]?.objectValue?["lastModified"]?.stringValue })
            #expect(stamps.count == 1)
            // Search finds the new patient through the tokens written in the same transaction.
            let found = try await system.app.searchResources(
                .with {
                    $0.datastoreID = ds
                    $0.resourceType = "Observation"
                    $0.parameters = [.with { $0.name = "subject"; $0.value = patient }]
                }, options: .test)
            #expect(found.ids == [String(observation.id ?? "")])
        }
    }

    @Test("transaction: one bad entry stores nothing, and the error names the entry")
    func transactionAtomicity() async throws {
        try await withTestSystem { system in
            let ds = try await system.createDatastore(name: "atomic")
            try await Self.put(system, ds, "p1")
            let before = try Bundles.versions(system, ds)
            let good: [JSONValue] = [
                Bundles.entry("POST", "Patient", resource: try Self.patient(), fullUrl: "urn:uuid:9d1d5b2e-9d8c-4f7e-8c55-0a8e2b3c4d5e"),
                Bundles.entry("PUT", "Patient/new-1", resource: try Self.patient(id: "new-1")),
                Bundles.entry("PUT", "Patient/p1", resource: try Self.patient(id: "p1", family: "Changed")),
                Bundles.entry("DELETE", "Patient/p1-never"),
            ]
            let cases: [(entry: JSONValue, name: String, says: String)] = [
                (Bundles.entry("POST", "Patient", resource: try Bundles.object(#"{"resourceType":"Patient","birthDate":42}"#)), "ValidationException", "entry 4"),
                (Bundles.entry("PUT", "Patient/p1-other", resource: try Self.patient(id: "p1-other"), ifMatch: "3"), "VersionConflictException", "entry 4 (PUT Patient/p1-other)"),
                (Bundles.entry("POST", "Observation", resource: try Self.observation(subject: Self.uuid())), "ValidationException", "entry 4: reference"),
                (Bundles.entry("GET", "Patient/absent"), "ResourceNotFoundException", "entry 4 (GET Patient/absent)"),
                (Bundles.entry("PATCH", "Patient/p1"), "ValidationException", "entry 4: request.method"),
            ]
            for bad in cases {
                let refused = try await failure { try await Bundles.send(system, ds, Bundles.bundle("transaction", good + [bad.entry])) }
                #expect(refused?.name == bad.name, "\(bad.says): \(String(describing: refused))")
                #expect(refused?.message.contains(bad.says) == true, "\(bad.says): \(String(describing: refused))")
                #expect(refused?.outcome.contains("OperationOutcome") == true)
                #expect(refused?.outcome.contains(bad.says) == true, "the OperationOutcome names the entry: \(refused?.outcome ?? "")")
                // Nothing was written: no version, no history entry, p1 unchanged, no new-1.
                #expect(try Bundles.versions(system, ds) == before, "\(bad.says)")
                #expect(try await Bundles.read(system, ds, "Patient/new-1") == nil)
                #expect(try await Bundles.read(system, ds, "Patient/p1")?.versionID == "1")
                let history = try await system.app.resourceHistory(.with { $0.datastoreID = ds }, options: .test)
                #expect(history.entries.count == before)
            }
            // The same Bundle without the bad entry commits.
            let response = try await Bundles.send(system, ds, Bundles.bundle("transaction", good))
            #expect(Bundles.entries(response).map(Bundles.status) == ["201 Created", "201 Created", "200 OK", "204 No Content"])
            #expect(try Bundles.versions(system, ds) == before + 3)
            #expect(try await Bundles.read(system, ds, "Patient/p1")?.versionID == "2")
        }
    }

    @Test("transaction on a CMK datastore: a revoked grant stores nothing, also when revoked while the transaction runs")
    func transactionRevoked() async throws {
        try await withTestSystem { system in
            let cmk = try await system.createSeedKey()
            let ds = try await system.createDatastore(name: "cmk", cmk: cmk)
            func bigTransaction(_ count: Int) throws -> [UInt8] {
                try Bundles.bundle("transaction", (0..<count).map { _ in Bundles.entry("POST", "Patient", resource: try Self.patient()) })
            }
            let first = try await Bundles.send(system, ds, try bigTransaction(20))
            #expect(Bundles.entries(first).count == 20)
            #expect(try Bundles.versions(system, ds) == 20)

            // Revoked while a 300-entry transaction is sealing: it either finished first (all
            // 300 stored) or fails (nothing stored); never part of it.
            let grant = try #require(try await system.kmsAdmin.listGrants(.with { $0.keyID = cmk }, options: .test).grants.first)
            let big = try bigTransaction(300)
            async let racing = failure { try await Bundles.send(system, ds, big) }
            try await Task.sleep(for: .milliseconds(50))
            _ = try await system.kmsAdmin.revokeGrant(.with { $0.keyID = cmk; $0.grantID = grant.grantID }, options: .test)
            let raced = try await racing
            let stored = try Bundles.versions(system, ds)
            if let raced {
                #expect(raced.name == "KmsKeyAccessDeniedException", "\(raced)")
                #expect(stored == 20)
            } else {
                #expect(stored == 320)
            }

            // After revocation: refused, naming the key, nothing stored.
            let refused = try await failure { try await Bundles.send(system, ds, try bigTransaction(30)) }
            #expect(refused?.name == "KmsKeyAccessDeniedException", "\(String(describing: refused))")
            #expect(refused?.message.contains(cmk) == true)
            #expect(try Bundles.versions(system, ds) == stored)
            // A batch answers each entry with 403 instead.
            let existing = try #require(Bundles.reference(fromLocation: Bundles.location(Bundles.entries(first)[0])))
            let batch = try await Bundles.send(
                system, ds, Bundles.bundle("batch", [Bundles.entry("POST", "Patient", resource: try Self.patient()), Bundles.entry("GET", existing)]))
            #expect(Bundles.entries(batch).map(Bundles.status) == ["403 Forbidden", "403 Forbidden"])
            #expect(try Bundles.versions(system, ds) == stored)
        }
    }

    @Test("group commit over RPC: concurrent creates all acknowledged and readable; racing PUTs to one id fail alone")
    func concurrentWrites() async throws {
        try await withTestSystem { system in
            let ds = try await system.createDatastore(name: "concurrent")
            let json = try Self.patient().serialized()
            let created = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<120 {
                    group.addTask {
                        try await system.app.createResource(.with { $0.datastoreID = ds; $0.resource = Data(json) }, options: .test).id
                    }
                }
                var ids: [String] = []
                for try await id in group { ids.append(id) }
                return ids
            }
            #expect(Set(created).count == 120)
            for id in created { #expect(try await Bundles.read(system, ds, "Patient/\(id)")?.versionID == "1") }

            // 40 PUTs race for a new id among 40 creates: every PUT either wins its version or
            // gets VersionConflictException; the creates all succeed.
            let body = try Self.patient(id: "contested").serialized()
            let outcomes = try await withThrowingTaskGroup(of: (kind: String, result: String).self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        let refused = try await failure {
                            try await system.app.updateResource(
                                .with { $0.datastoreID = ds; $0.resourceType = "Patient"; $0.id = "contested"; $0.resource = Data(body) }, options: .test)
                        }
                        return ("put", refused?.name ?? "ok")
                    }
                    group.addTask {
                        let refused = try await failure {
                            try await system.app.createResource(.with { $0.datastoreID = ds; $0.resource = Data(json) }, options: .test)
                        }
                        return ("create", refused?.name ?? "ok")
                    }
                }
                var outcomes: [(kind: String, result: String)] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            let puts = outcomes.filter { $0.kind == "put" }
            let wins = puts.filter { $0.result == "ok" }.count
            #expect(puts.allSatisfy { $0.result == "ok" || $0.result == "VersionConflictException" }, "\(puts)")
            #expect(wins >= 1)
            #expect(try await Bundles.read(system, ds, "Patient/contested")?.versionID == String(wins))
            #expect(outcomes.filter { $0.kind == "create" }.allSatisfy { $0.result == "ok" })
            #expect(try Bundles.versions(system, ds) == 120 + 40 + wins)
        }
    }
}

extension BundleTests {
    @Test("responses stay within one transport frame: a too-large transaction-response writes nothing; a batch leaves out what does not fit")
    func responseLimit() async throws {
        try await withTestSystem { system in
            let ds = try await system.createDatastore(name: "large")
            // Five patients of about 1.2 MB each: each fits a message, three fit a response.
            var large = try BundleTests.patient()
            large["text"] = .object(["status": .string("generated"), "div": .string("<div>" + String(repeating: "x", count: 1_200_000) + "</div>")])
            var ids: [String] = []
            for _ in 0..<5 {
                ids.append(try await system.app.createResource(.with { $0.datastoreID = ds; $0.resource = Data(large.serialized()) }, options: .test).id)
            }
            let before = try Bundles.versions(system, ds)
            let reads = ids.map { Bundles.entry("GET", "Patient/\($0)") }
            let refused = try await failure {
                try await Bundles.send(system, ds, Bundles.bundle("transaction", [Bundles.entry("POST", "Patient", resource: try BundleTests.patient())] + reads))
            }
            #expect(refused?.name == "ValidationException", "\(String(describing: refused))")
            #expect(refused?.message.contains("transaction-response would be") == true)
            #expect(try Bundles.versions(system, ds) == before, "nothing written")

            let batch = try await Bundles.send(system, ds, Bundles.bundle("batch", [Bundles.entry("POST", "Patient", resource: try BundleTests.patient())] + reads))
            let entries = Bundles.entries(batch)
            try #require(entries.count == 6)
            #expect(Bundles.status(entries[0]) == "201 Created")
            #expect(entries[1...].filter { Bundles.status($0) == "200 OK" }.count == 3)
            #expect(entries[4...].allSatisfy { Bundles.status($0) == "400 Bad Request" && Bundles.diagnostics($0).contains("does not fit") })
            #expect(try Bundles.versions(system, ds) == before + 1)
        }
    }
}

/// A Bundle cannot do what its caller may not do directly.
@Suite("fhird: Bundles and the access policy", .timeLimit(.minutes(3)))
struct BundlePolicyTests {
    @Test("each entry needs the permission of its operation, checked before anything is written")
    func entriesNeedTheirPermissions() async throws {
        let policy = AccessPolicy(principals: [
            Principals.app: ["CreateFHIRDatastore", "ProcessBundle", "CreateResource", "ReadResource", "UpdateResource"]
        ])
        try await withTestSystem(policy: policy) { system in
            let ds = try await system.createDatastore(name: "policy")
            let patient = try BundleTests.patient()
            let allowed = try await Bundles.send(system, ds, Bundles.bundle("transaction", [Bundles.entry("POST", "Patient", resource: patient)]))
            #expect(Bundles.entries(allowed).map(Bundles.status) == ["201 Created"])
            for kind in ["transaction", "batch"] {
                let refused = try await failure {
                    try await Bundles.send(
                        system, ds,
                        Bundles.bundle(kind, [Bundles.entry("POST", "Patient", resource: patient), Bundles.entry("DELETE", "Patient/x")]))
                }
                #expect(refused?.name == "AccessDeniedException", "\(kind): \(String(describing: refused))")
                #expect(refused?.message.contains("healthlake:DeleteResource") == true)
                let vread = try await failure {
                    try await Bundles.send(system, ds, Bundles.bundle(kind, [Bundles.entry("GET", "Patient/x/_history/1")]))
                }
                #expect(vread?.name == "AccessDeniedException", "\(kind)")
            }
            #expect(try Bundles.versions(system, ds) == 1, "the refused Bundles wrote nothing")
        }
    }
}

extension BundleTests {
    @Test("If-Match: N, \"N\" and W/\"N\" name a version; anything else is a ValidationException, in a call and in a transaction")
    func ifMatch() async throws {
        try await withTestSystem { system in
            let ds = try await system.createDatastore(name: "if-match")
            try await Self.put(system, ds, "p1")
            let body = Data(try Self.patient(id: "p1").serialized())
            func update(_ ifMatch: String) async throws -> CallFailure? {
                try await failure {
                    try await system.app.updateResource(
                        .with { $0.datastoreID = ds; $0.resourceType = "Patient"; $0.id = "p1"; $0.resource = body; $0.ifMatchVersionID = ifMatch },
                        options: .test)
                }
            }
            for malformed in ["abc", "W/abc", "W/\"\"", "0", "-1", "1.0", "W/\"1", String(repeating: "9", count: 40)] {
                let refused = try await update(malformed)
                #expect(refused?.name == "ValidationException", "\(malformed): \(String(describing: refused))")
                let transaction = try await failure {
                    try await Bundles.send(
                        system, ds, Bundles.bundle("transaction", [Bundles.entry("PUT", "Patient/p1", resource: try Self.patient(id: "p1"), ifMatch: malformed)]))
                }
                #expect(transaction?.name == "ValidationException", "\(malformed)")
                #expect(transaction?.message.contains("entry 0 (PUT Patient/p1)") == true)
            }
            #expect(try await update("W/\"5\"")?.name == "VersionConflictException")
            #expect(try await update("1") == nil)
            #expect(try await update("\"2\"") == nil)
            #expect(try await update("W/\"3\"") == nil)
            #expect(try await Bundles.read(system, ds, "Patient/p1")?.versionID == "4")
        }
    }
}

import Crypto
import Foundation
import GRDB
import Testing

@testable import KMS

@Suite("Audit trail")
struct AuditTrailTests {
    typealias F = KeyServiceFixture

    /// A fixture with a few audited calls.
    func populated() async throws -> (F, KeyMetadata) {
        let fixture = try F()
        let key = try await fixture.service.createKey(CreateKeyRequest(description: "audited"), caller: F.rootCaller)
        for index in 0..<4 {
            _ = try await fixture.service.encrypt(keyID: key.arn, plaintext: [UInt8(index)], caller: F.rootCaller)
        }
        _ = await errorCode { _ = try await fixture.service.describeKey(keyID: key.arn, caller: F.caller(F.adminRole)) }
        return (fixture, key)
    }

    /// Opens the file directly, drops the append-only triggers and runs `tamper`.
    func tamper(_ fixture: F, _ tamper: (Database) throws -> Void) throws {
        let raw = try fixture.rawDatabase()
        try raw.write { db in
            try db.execute(sql: "DROP TRIGGER audit_event_no_update; DROP TRIGGER audit_event_no_delete")
            try tamper(db)
        }
        try raw.close()
    }

    @Test("an untouched chain verifies, and the triggers refuse updates and deletes")
    func intact() async throws {
        let (fixture, _) = try await self.populated()
        defer { fixture.remove() }
        #expect(try fixture.service.auditTrail.verifyChain() == .intact(eventCount: 6))
        let raw = try fixture.rawDatabase()
        #expect(throws: DatabaseError.self) { try raw.write { try $0.execute(sql: "UPDATE audit_event SET event_name = 'X' WHERE sequence = 2") } }
        #expect(throws: DatabaseError.self) { try raw.write { try $0.execute(sql: "DELETE FROM audit_event WHERE sequence = 2") } }
        try raw.close()
    }

    @Test("an edited event is detected")
    func edit() async throws {
        let (fixture, _) = try await self.populated()
        defer { fixture.remove() }
        try self.tamper(fixture) { db in
            try db.execute(sql: "UPDATE audit_event SET document = replace(document, 'Encrypt', 'Decrypt') WHERE sequence = 3")
        }
        #expect(try fixture.service.auditTrail.verifyChain().brokenSequence == 3)
        #expect(try !fixture.service.auditTrail.verifyChain().isIntact)
    }

    @Test("a deleted event is detected, in the middle and at the end")
    func deletion() async throws {
        let (fixture, _) = try await self.populated()
        defer { fixture.remove() }
        try self.tamper(fixture) { db in try db.execute(sql: "DELETE FROM audit_event WHERE sequence = 4") }
        guard case .broken(let sequence, _) = try fixture.service.auditTrail.verifyChain() else {
            Issue.record("deletion not detected")
            return
        }
        #expect(sequence == 4)

        let (tail, _) = try await self.populated()
        defer { tail.remove() }
        try self.tamper(tail) { db in try db.execute(sql: "DELETE FROM audit_event WHERE sequence = 6") }
        #expect(try !tail.service.auditTrail.verifyChain().isIntact)
    }

    @Test("an inserted event is detected, even with a correctly recomputed hash")
    func insertion() async throws {
        let (fixture, _) = try await self.populated()
        defer { fixture.remove() }
        try self.tamper(fixture) { db in
            let last = try Row.fetchOne(db, sql: "SELECT * FROM audit_event ORDER BY sequence DESC LIMIT 1")!
            let document = (last["document"] as String).replacingOccurrences(of: "Encrypt", with: "ScheduleKeyDeletion")
            var hasher = SHA256()
            hasher.update(data: Array(last["chain_hash"] as Data))
            hasher.update(data: Array(document.utf8))
            let hash = Data(hasher.finalize())
            try db.execute(
                sql: "INSERT INTO audit_event (sequence, event_id, event_time, event_name, principal, document, chain_hash, seal) VALUES (7, 'forged', 0, 'X', 'p', ?, ?, ?)",
                arguments: [document, hash, Data(repeating: 0, count: 32)]
            )
            try db.execute(sql: "UPDATE audit_head SET sequence = 7, chain_hash = ?", arguments: [hash])
        }
        #expect(try fixture.service.auditTrail.verifyChain().brokenSequence == 7)
    }

    @Test("reordered events are detected")
    func reordering() async throws {
        let (fixture, _) = try await self.populated()
        defer { fixture.remove() }
        try self.tamper(fixture) { db in
            try db.execute(sql: "UPDATE audit_event SET sequence = 100 WHERE sequence = 2")
            try db.execute(sql: "UPDATE audit_event SET sequence = 2 WHERE sequence = 3")
            try db.execute(sql: "UPDATE audit_event SET sequence = 3 WHERE sequence = 100")
        }
        #expect(try fixture.service.auditTrail.verifyChain().brokenSequence == 2)
    }

    @Test("a fully recomputed SHA-256 chain without the root key is detected by the seals")
    func recomputedChain() async throws {
        let (fixture, _) = try await self.populated()
        defer { fixture.remove() }
        try self.tamper(fixture) { db in
            try db.execute(sql: "UPDATE audit_event SET document = replace(document, 'audited', 'innocent') WHERE sequence = 1")
            var previous = [UInt8](repeating: 0, count: 32)
            for row in try Row.fetchAll(db, sql: "SELECT sequence, document FROM audit_event ORDER BY sequence") {
                var hasher = SHA256()
                hasher.update(data: previous)
                hasher.update(data: Array((row["document"] as String).utf8))
                previous = Array(hasher.finalize())
                try db.execute(sql: "UPDATE audit_event SET chain_hash = ? WHERE sequence = ?", arguments: [Data(previous), row["sequence"] as Int64])
            }
            try db.execute(sql: "UPDATE audit_head SET chain_hash = ?", arguments: [Data(previous)])
        }
        #expect(try fixture.service.auditTrail.verifyChain().brokenSequence == 1)
    }

    @Test("no event contains plaintext, data keys or ciphertext, in hex or base64")
    func noSecrets() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let plaintext = Array("SECRET-PHI-0123456789".utf8)
        let sealed = try await service.encrypt(keyID: key.arn, plaintext: plaintext, encryptionContext: ["ds": "1"], caller: F.rootCaller)
        _ = try await service.decrypt(ciphertextBlob: sealed.ciphertextBlob, encryptionContext: ["ds": "1"], caller: F.rootCaller)
        let dataKey = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, caller: F.rootCaller)
        let random = try await service.generateRandom(numberOfBytes: 32, caller: F.rootCaller)
        let material = try service.store.material(keyID: key.keyID, version: 1)
        let materialBytes = material.withUnsafeBytes { Array($0) }
        let secrets = [plaintext, dataKey.plaintext!, dataKey.ciphertextBlob, sealed.ciphertextBlob, random, materialBytes]
        let everything = try fixture.auditDocuments().joined(separator: "\n")
        #expect(everything.contains("\"ds\":\"1\""))  // the encryption context is audited
        for secret in secrets {
            let forms = [
                Hex.encode(secret), Hex.encode(secret).uppercased(), Data(secret).base64EncodedString(),
                KeyService.base64URL(secret), String(decoding: secret, as: UTF8.self),
            ]
            for form in forms where form.count >= 16 {
                #expect(!everything.contains(form))
            }
        }
    }

    @Test("when the audit event cannot be written the call fails closed and changes nothing")
    func failClosed() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let blob = try await service.encrypt(keyID: key.arn, plaintext: [1, 2, 3], caller: F.rootCaller).ciphertextBlob
        let raw = try fixture.rawDatabase()
        try await raw.write { db in
            try db.execute(sql: "CREATE TRIGGER audit_down BEFORE INSERT ON audit_event BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END")
        }
        #expect(await errorCode { _ = try await service.decrypt(ciphertextBlob: blob, caller: F.rootCaller) } == .internalFailure)
        #expect(await errorCode { _ = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, caller: F.rootCaller) } == .internalFailure)
        #expect(await errorCode { try await service.disableKey(keyID: key.arn, caller: F.rootCaller) } == .internalFailure)
        try await raw.write { db in try db.execute(sql: "DROP TRIGGER audit_down") }
        try raw.close()
        #expect(try await service.describeKey(keyID: key.arn, caller: F.rootCaller).state == .enabled)
        #expect(try service.auditTrail.verifyChain().isIntact)
    }

    @Test("events have the CloudTrail shape")
    func shape() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let key = try await fixture.service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let context = CallerContext(principal: F.healthLake, onBehalfOf: F.healthLakeRole, requestID: "req-1", sourceIPAddress: "10.1.2.3", userAgent: "fhird/1")
        _ = await errorCode { _ = try await fixture.service.generateDataKey(keyID: key.arn, keySpec: .aes256, encryptionContext: ["k": "v"], caller: context) }
        let event = try #require(try fixture.auditEvents().last)
        for field in ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent",
            "requestParameters", "responseElements", "requestID", "eventID", "readOnly", "resources", "eventType", "managementEvent",
            "recipientAccountId", "eventCategory", "errorCode", "errorMessage"]
        {
            #expect(event.keys.contains(field), "missing \(field)")
        }
        #expect(event["eventSource"] as? String == "kms.amazonaws.com")
        #expect(event["eventName"] as? String == "GenerateDataKey")
        #expect(event["requestID"] as? String == "req-1")
        #expect(event["sourceIPAddress"] as? String == "10.1.2.3")
        #expect(event["eventType"] as? String == "AwsApiCall")
        #expect(event["eventCategory"] as? String == "Management")
        #expect(event["readOnly"] as? Bool == true)
        #expect(event["responseElements"] is NSNull)
        #expect(event["errorCode"] as? String == "AccessDeniedException")
        let identity = try #require(event["userIdentity"] as? [String: Any])
        #expect(identity["invokedBy"] as? String == F.healthLake)
        #expect(identity["accountId"] as? String == F.account)
        let parameters = try #require(event["requestParameters"] as? [String: Any])
        #expect(parameters["keySpec"] as? String == "AES_256")
        #expect((parameters["encryptionContext"] as? [String: String]) == ["k": "v"])
        let resources = try #require(event["resources"] as? [[String: Any]])
        #expect(resources.first?["ARN"] as? String == key.arn)
        #expect(resources.first?["type"] as? String == "AWS::KMS::Key")
        #expect(UUID(uuidString: event["eventID"] as? String ?? "") != nil)
    }

    @Test("LookupEvents filters and pages; JSON lines export holds every event")
    func lookupAndExport() async throws {
        let (fixture, key) = try await self.populated()
        defer { fixture.remove() }
        let service = fixture.service
        let encrypts = try await service.lookupEvents(AuditLookupFilter(eventName: "Encrypt"), caller: F.rootCaller)
        #expect(encrypts.events.count == 4)
        #expect(encrypts.events.map(\.sequence) == encrypts.events.map(\.sequence).sorted(by: >))
        let byPrincipal = try await service.lookupEvents(AuditLookupFilter(principal: F.adminRole), caller: F.rootCaller)
        #expect(byPrincipal.events.count == 1)
        var pages = 0
        var seen = 0
        var token: String?
        repeat {
            let page = try await service.lookupEvents(AuditLookupFilter(keyID: key.keyID), maxResults: 2, nextToken: token, caller: F.rootCaller)
            seen += page.events.count
            token = page.nextToken
            pages += 1
        } while token != nil
        #expect(seen == 6)
        #expect(pages == 3)
        let future = try await service.lookupEvents(AuditLookupFilter(startTime: F.start.addingTimeInterval(1)), caller: F.rootCaller)
        #expect(future.events.isEmpty)
        #expect(await errorCode { _ = try await service.lookupEvents(caller: F.caller(F.adminRole)) } == .accessDenied)
        #expect(await errorCode { _ = try await service.lookupEvents(nextToken: "x", caller: F.rootCaller) } == .invalidMarker)

        let path = fixture.directory.file("audit.jsonl")
        let count = try service.auditTrail.exportJSONLines(to: path)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == count)
        let stored = try fixture.auditDocuments().count
        #expect(count == stored)
        for line in lines {
            #expect((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["eventSource"] != nil)
        }
    }
}

import Foundation
import GRDB
import Testing

@testable import KMS

@Suite("Cryptographic fast path: key directory, revocation races, audit under load")
struct FastPathTests {
    typealias F = KeyServiceFixture
    static let admin = F.caller(F.adminRole)

    /// What a race takes away from the admin role, which uses the key only through it.
    enum TakeAway: String, CaseIterable, Sendable {
        case revokeGrant, retireGrant, disableKey, scheduleKeyDeletion, putKeyPolicy, deleteAlias
    }

    /// A policy that lets the admin role generate data keys and decrypt directly (and the root
    /// administer the key).
    static let adminPolicy = PolicyFixtures.policy(
        #"{"Effect":"Allow","Principal":{"AWS":"\#(F.root)"},"Action":"kms:*","Resource":"*"}"#,
        #"{"Effect":"Allow","Principal":{"AWS":"\#(F.adminRole)"},"Action":["kms:GenerateDataKey","kms:Decrypt"],"Resource":"*"}"#
    )

    /// Many GenerateDataKey and Decrypt calls race one call that takes the access away; every
    /// call that starts after that call returned must be refused, and some before it succeeded.
    @Test("after a take-away returns, no call on any task is authorised by what it took", arguments: TakeAway.allCases)
    func revocationRace(_ takeAway: TakeAway) async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(
            CreateKeyRequest(policy: takeAway == .putKeyPolicy ? Self.adminPolicy : nil), caller: F.rootCaller)
        try await service.createAlias(aliasName: "alias/race", targetKeyID: key.arn, caller: F.rootCaller)
        // Through a grant, except when the policy itself is what is taken away.
        let grant = takeAway == .putKeyPolicy ? nil : try await service.createGrant(
            CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, retiringPrincipal: F.adminRole, operations: ["GenerateDataKey", "Decrypt"]),
            caller: F.rootCaller
        )
        let keyID = takeAway == .deleteAlias ? "alias/race" : key.arn
        let decryptKeyID = takeAway == .deleteAlias ? "alias/race" : nil
        let blob = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, encryptionContext: ["r": "1"], caller: Self.admin).ciphertextBlob

        let race = RaceLog()
        let workers = 16
        let callsAfter = 8
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var after = 0
                    var index = 0
                    let deadline = ContinuousClock.now + .seconds(120)
                    while after < callsAfter, ContinuousClock.now < deadline {
                        let startedAfterTakeAway = race.takenAway
                        index += 1
                        let code = await errorCode {
                            if (worker + index) % 3 == 0 {
                                _ = try await service.decrypt(ciphertextBlob: blob, keyID: decryptKeyID, encryptionContext: ["r": "1"], caller: Self.admin)
                            } else {
                                _ = try await service.generateDataKey(keyID: keyID, keySpec: .aes256, encryptionContext: ["r": "1"], caller: Self.admin)
                            }
                        }
                        race.record(startedAfterTakeAway: startedAfterTakeAway, code: code)
                        if startedAfterTakeAway { after += 1 }
                    }
                }
            }
            // Let the calls run on the fast path before taking the access away.
            let deadline = ContinuousClock.now + .seconds(60)
            while race.successesBefore < 200 || service.store.directory.snapshot() == nil {
                guard ContinuousClock.now < deadline else { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            switch takeAway {
            case .revokeGrant: try await service.revokeGrant(keyID: key.arn, grantID: try #require(grant).grantID, caller: F.rootCaller)
            case .retireGrant: try await service.retireGrant(grantToken: try #require(grant).grantToken, caller: Self.admin)
            case .disableKey: try await service.disableKey(keyID: key.arn, caller: F.rootCaller)
            case .scheduleKeyDeletion: _ = try await service.scheduleKeyDeletion(keyID: key.arn, pendingWindowInDays: 7, caller: F.rootCaller)
            case .putKeyPolicy: try await service.putKeyPolicy(keyID: key.arn, policy: KeyPolicy.defaultPolicy(accountID: F.account, partition: "aws").document, caller: F.rootCaller)
            case .deleteAlias: try await service.deleteAlias(aliasName: "alias/race", caller: F.rootCaller)
            }
            race.takeAway()
            try await group.waitForAll()
        }
        let log = race.snapshot
        #expect(log.successesBefore >= 200, "the race needs calls that succeeded before the take-away")
        #expect(log.callsAfter >= workers * callsAfter)
        #expect(log.successesAfter == 0, "\(log.successesAfter) calls were authorised after \(takeAway) returned")
        #expect(log.unexpectedCodes.isEmpty, "unexpected errors: \(log.unexpectedCodes)")
        #expect(try service.auditTrail.verifyChain().isIntact)
    }

    @Test("under heavy concurrent load every call leaves exactly one event and the chain verifies")
    func chainUnderLoad() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let blob = try await service.encrypt(keyID: key.arn, plaintext: [9], encryptionContext: ["a": "b"], caller: F.rootCaller).ciphertextBlob
        let before = try fixture.auditDocuments().count
        let calls = 600
        let outcomes = try await withThrowingTaskGroup(of: (Int, String, KMSError.Code?).self) { group in
            for index in 0..<calls {
                group.addTask {
                    let caller = F.caller(index % 10 == 7 ? F.outsider : F.root)
                    let code = await errorCode {
                        switch index % 6 {
                        case 0: _ = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, encryptionContext: ["i": "\(index)"], caller: caller)
                        case 1: _ = try await service.encrypt(keyID: key.arn, plaintext: [UInt8(index % 256)], caller: caller)
                        case 2: #expect(try await service.decrypt(ciphertextBlob: blob, encryptionContext: ["a": "b"], caller: caller).plaintext == [9])
                        case 3: _ = try await service.decrypt(ciphertextBlob: blob, encryptionContext: ["a": "c"], caller: caller)
                        case 4: _ = try await service.generateDataKeyWithoutPlaintext(keyID: key.arn, numberOfBytes: 16, caller: caller)
                        default:
                            let grant = try await service.createGrant(
                                CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Decrypt"]), caller: caller)
                            try await service.revokeGrant(keyID: key.arn, grantID: grant.grantID, caller: caller)
                        }
                    }
                    return (index, caller.requestID, code)
                }
            }
            return try await group.reduce(into: [(Int, String, KMSError.Code?)]()) { $0.append($1) }
        }
        #expect(outcomes.count == calls)
        var eventsPerRequest = [String: Int]()
        let events = try fixture.auditEvents()
        for event in events.dropFirst(before) {
            eventsPerRequest[event["requestID"] as? String ?? "", default: 0] += 1
        }
        var expectedEvents = 0
        for (index, requestID, code) in outcomes {
            let expectedCode: KMSError.Code? = index % 10 == 7 ? .accessDenied : (index % 6 == 3 ? .invalidCiphertext : nil)
            #expect(code == expectedCode, "call \(index)")
            // A successful grant call wrote CreateGrant and RevokeGrant under one request id.
            let expected = index % 6 == 5 && code == nil ? 2 : 1
            #expect(eventsPerRequest[requestID] == expected, "events of call \(index)")
            expectedEvents += expected
        }
        #expect(events.count == before + expectedEvents)
        #expect(try service.auditTrail.verifyChain() == .intact(eventCount: events.count))
        try service.close()
        let reopened = try KeyService(path: fixture.path, rootKey: fixture.rootKey, configuration: service.configuration, clock: fixture.clock)
        #expect(try reopened.auditTrail.verifyChain() == .intact(eventCount: events.count))
    }

    @Test("with the directory warm, a failing audit write fails the call and returns nothing")
    func failClosedWhenWarm() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let blob = try await service.encrypt(keyID: key.arn, plaintext: [1, 2], caller: F.rootCaller).ciphertextBlob
        _ = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, caller: F.rootCaller)
        #expect(service.store.directory.snapshot()?.keys[key.keyID] != nil)
        let events = try fixture.auditDocuments().count
        let raw = try fixture.rawDatabase()
        try await raw.write { db in
            try db.execute(sql: "CREATE TRIGGER audit_down BEFORE INSERT ON audit_event BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END")
        }
        #expect(await errorCode { _ = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, caller: F.rootCaller) } == .internalFailure)
        #expect(await errorCode { _ = try await service.encrypt(keyID: key.arn, plaintext: [3], caller: F.rootCaller) } == .internalFailure)
        #expect(await errorCode { _ = try await service.decrypt(ciphertextBlob: blob, caller: F.rootCaller) } == .internalFailure)
        try await raw.write { db in try db.execute(sql: "DROP TRIGGER audit_down") }
        try raw.close()
        #expect(try fixture.auditDocuments().count == events)
        #expect(try await service.decrypt(ciphertextBlob: blob, caller: F.rootCaller).plaintext == [1, 2])
        #expect(try fixture.auditDocuments().count == events + 1)
        #expect(try service.auditTrail.verifyChain().isIntact)
    }

    @Test("a fast-path event has the same content as the writer path's")
    func eventContent() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let grant = try await service.createGrant(
            CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["GenerateDataKey"]), caller: F.rootCaller)
        // The first call reads the database, the second is answered from the directory.
        for _ in 0..<2 {
            let context = CallerContext(principal: F.adminRole, requestID: "req-fast", sourceIPAddress: "10.9.8.7", userAgent: "t/1")
            _ = try await service.generateDataKey(keyID: key.arn, keySpec: .aes128, encryptionContext: ["k": "v"], caller: context)
        }
        #expect(service.store.directory.snapshot()?.grants.isEmpty == false)
        let events = try fixture.auditEvents().suffix(2)
        for event in events {
            #expect(event["eventName"] as? String == "GenerateDataKey")
            #expect(event["requestID"] as? String == "req-fast")
            #expect(event["sourceIPAddress"] as? String == "10.9.8.7")
            #expect(event["errorCode"] == nil)
            #expect((event["additionalEventData"] as? [String: String])?["grantId"] == grant.grantID)
            let parameters = try #require(event["requestParameters"] as? [String: Any])
            #expect(parameters["keySpec"] as? String == "AES_128")
            #expect((parameters["encryptionContext"] as? [String: String]) == ["k": "v"])
            #expect(((event["resources"] as? [[String: Any]])?.first?["ARN"] as? String) == key.arn)
        }
        let first = try #require(events.first), second = try #require(events.last)
        #expect(first.keys.sorted() == second.keys.sorted())
        #expect(first["eventID"] as? String != second["eventID"] as? String)
    }

    @Test("the directory keeps a read only when no change began or ended during it")
    func directoryGenerations() throws {
        let directory = KeyDirectory(capacity: 100)
        let material = KeyMaterial.generate()
        let id = KeyID.generate()

        let kept = directory.loader()
        kept.record(material: material, keyID: id, version: 1)
        #expect(directory.install(kept))
        #expect(directory.snapshot()?.materials.count == 1)

        // A change that begins during a read: the read is not kept, and the directory is empty.
        let overlapped = directory.loader()
        directory.beginChange()
        #expect(directory.snapshot() == nil)
        overlapped.record(material: material, keyID: id, version: 2)
        #expect(!directory.install(overlapped))
        // A read that starts while a change is in progress is not kept, even after it ends.
        let during = directory.loader()
        during.record(material: material, keyID: id, version: 3)
        directory.endChange()
        #expect(!directory.install(during))
        #expect(directory.snapshot() == nil)

        let after = directory.loader()
        after.record(material: material, keyID: id, version: 4)
        #expect(directory.install(after))
        #expect(directory.snapshot()?.materials.keys.map(\.version) == [4])

        // Past its capacity the directory starts over; capacity 0 keeps nothing.
        let small = KeyDirectory(capacity: 2)
        for version in UInt32(1)...3 {
            let loader = small.loader()
            loader.record(material: material, keyID: id, version: version)
            #expect(small.install(loader))
            #expect((small.snapshot()?.entryCount ?? 0) <= 2)
        }
        let off = KeyDirectory(capacity: 0)
        let loader = off.loader()
        loader.record(material: material, keyID: id, version: 1)
        #expect(!off.install(loader))
    }

    @Test("changes through the key store empty the directory too")
    func storeChangesInvalidate() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        _ = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, caller: F.rootCaller)
        #expect(service.store.directory.snapshot()?.keys[key.keyID]?.state == .enabled)
        try service.store.setState(.disabled, deletionDate: nil, for: key.keyID)
        #expect(service.store.directory.snapshot() == nil)
        #expect(await errorCode { _ = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, caller: F.rootCaller) } == .disabled)
    }
}

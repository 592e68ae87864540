import Foundation
import GRDB
import Testing

@testable import KMS

@Suite("Key lifecycle: deletion, rotation, aliases, tags, service-owned keys")
struct KeyLifecycleTests {
    typealias F = KeyServiceFixture
    static let day: TimeInterval = 86_400

    @Test("scheduled deletion: refused while pending, shredded after the window, never before")
    func cryptoShredding() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        try await service.createAlias(aliasName: "alias/doomed", targetKeyID: key.arn, caller: F.rootCaller)
        let blob = try await service.encrypt(keyID: key.arn, plaintext: [1, 2, 3], caller: F.rootCaller).ciphertextBlob
        let schedule = try await service.scheduleKeyDeletion(keyID: key.arn, pendingWindowInDays: 7, caller: F.rootCaller)
        #expect(schedule.deletionDate == F.start.addingTimeInterval(7 * Self.day))
        #expect(try await service.describeKey(keyID: key.arn, caller: F.rootCaller).deletionDate == schedule.deletionDate)
        #expect(await errorCode { _ = try await service.decrypt(ciphertextBlob: blob, caller: F.rootCaller) } == .invalidState)

        fixture.clock.advance(by: 7 * Self.day - 1)
        #expect(try await service.sweepExpiredDeletions(now: fixture.clock.now()).isEmpty)
        fixture.clock.advance(by: 1)
        #expect(try await service.sweepExpiredDeletions(now: fixture.clock.now()) == [key.keyID])

        #expect(await errorCode { _ = try await service.decrypt(ciphertextBlob: blob, caller: F.rootCaller) } == .notFound)
        #expect(await errorCode { _ = try await service.describeKey(keyID: key.arn, caller: F.rootCaller) } == .notFound)
        #expect(await errorCode { _ = try await service.encrypt(keyID: "alias/doomed", plaintext: [1], caller: F.rootCaller) } == .notFound)
        let remaining = try await service.store.database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM key_material WHERE key_id = ?", arguments: [key.keyID.description])
        }
        #expect(remaining == 0)
        let events = try fixture.auditEvents()
        #expect(events.contains { $0["eventName"] as? String == "DeleteKey" })
        #expect(try service.auditTrail.verifyChain().isIntact)
    }

    @Test("CancelKeyDeletion returns the key as Disabled; a swept window then deletes nothing")
    func cancel() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        _ = try await service.scheduleKeyDeletion(keyID: key.arn, caller: F.rootCaller)
        try await service.cancelKeyDeletion(keyID: key.arn, caller: F.rootCaller)
        let described = try await service.describeKey(keyID: key.arn, caller: F.rootCaller)
        #expect(described.state == .disabled)
        #expect(described.deletionDate == nil)
        fixture.clock.advance(by: 31 * Self.day)
        #expect(try await service.sweepExpiredDeletions(now: fixture.clock.now()).isEmpty)
        try await service.enableKey(keyID: key.arn, caller: F.rootCaller)
        _ = try await service.encrypt(keyID: key.arn, plaintext: [1], caller: F.rootCaller)
    }

    @Test("rotation: on demand and scheduled; old ciphertexts still decrypt; new ones use new material")
    func rotation() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let old = try await service.encrypt(keyID: key.arn, plaintext: [1], caller: F.rootCaller).ciphertextBlob

        try await service.enableKeyRotation(keyID: key.arn, rotationPeriodInDays: 90, caller: F.rootCaller)
        let status = try await service.getKeyRotationStatus(keyID: key.arn, caller: F.rootCaller)
        #expect(status.keyRotationEnabled)
        #expect(status.rotationPeriodInDays == 90)
        #expect(status.nextRotationDate == F.start.addingTimeInterval(90 * Self.day))

        try await service.rotateKeyOnDemand(keyID: key.arn, caller: F.rootCaller)
        let middle = try await service.encrypt(keyID: key.arn, plaintext: [2], caller: F.rootCaller).ciphertextBlob
        #expect(try CiphertextBlob(parsing: middle).materialVersion == 2)

        fixture.clock.advance(by: 89 * Self.day)
        #expect(try await service.rotateDueKeys(now: fixture.clock.now()).isEmpty)
        fixture.clock.advance(by: Self.day)
        #expect(try await service.rotateDueKeys(now: fixture.clock.now()) == [key.keyID])
        let new = try await service.encrypt(keyID: key.arn, plaintext: [3], caller: F.rootCaller).ciphertextBlob
        #expect(try CiphertextBlob(parsing: new).materialVersion == 3)

        for (blob, expected) in [(old, [UInt8(1)]), (middle, [2]), (new, [3])] {
            #expect(try await service.decrypt(ciphertextBlob: blob, caller: F.rootCaller).plaintext == expected)
        }
        let rotations = try await service.listKeyRotations(keyID: key.arn, caller: F.rootCaller).entries
        #expect(rotations.map(\.rotationType) == [.onDemand, .automatic])
        #expect(try await service.getKeyRotationStatus(keyID: key.arn, caller: F.rootCaller).nextRotationDate == fixture.clock.now().addingTimeInterval(90 * Self.day))

        try await service.disableKeyRotation(keyID: key.arn, caller: F.rootCaller)
        fixture.clock.advance(by: 400 * Self.day)
        #expect(try await service.rotateDueKeys(now: fixture.clock.now()).isEmpty)
        #expect(try await service.getKeyRotationStatus(keyID: key.arn, caller: F.rootCaller).keyRotationEnabled == false)
    }

    @Test("on-demand rotations are limited")
    func onDemandLimit() async throws {
        let fixture = try F { $0.limits.maximumOnDemandRotations = 2 }
        defer { fixture.remove() }
        let key = try await fixture.service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        try await fixture.service.rotateKeyOnDemand(keyID: key.arn, caller: F.rootCaller)
        try await fixture.service.rotateKeyOnDemand(keyID: key.arn, caller: F.rootCaller)
        #expect(await errorCode { try await fixture.service.rotateKeyOnDemand(keyID: key.arn, caller: F.rootCaller) } == .limitExceeded)
    }

    @Test("aliases: create, use, update, list, delete")
    func aliases() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let first = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let second = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        try await service.createAlias(aliasName: "alias/app", targetKeyID: first.keyID.description, caller: F.rootCaller)
        #expect(await errorCode { try await service.createAlias(aliasName: "alias/app", targetKeyID: second.arn, caller: F.rootCaller) } == .alreadyExists)
        #expect(await errorCode { try await service.createAlias(aliasName: "alias/other", targetKeyID: "alias/app", caller: F.rootCaller) } == .validation)
        #expect(try await service.encrypt(keyID: "alias/app", plaintext: [1], caller: F.rootCaller).keyARN == first.arn)
        try await service.updateAlias(aliasName: "alias/app", targetKeyID: second.arn, caller: F.rootCaller)
        #expect(try await service.encrypt(keyID: "alias/app", plaintext: [1], caller: F.rootCaller).keyARN == second.arn)
        try await service.createAlias(aliasName: "alias/b", targetKeyID: first.arn, caller: F.rootCaller)
        let all = try await service.listAliases(caller: F.rootCaller).entries
        #expect(all.map(\.alias.aliasName) == ["alias/app", "alias/b"])
        #expect(all.first?.aliasARN == "arn:aws:kms:us-east-1:111122223333:alias/app")
        let ofFirst = try await service.listAliases(keyID: first.arn, caller: F.rootCaller).entries
        #expect(ofFirst.map(\.alias.aliasName) == ["alias/b"])
        let paged = try await service.listAliases(limit: 1, caller: F.rootCaller)
        #expect(paged.entries.count == 1)
        #expect(try await service.listAliases(limit: 1, marker: paged.nextMarker, caller: F.rootCaller).entries.map(\.alias.aliasName) == ["alias/b"])
        try await service.deleteAlias(aliasName: "alias/app", caller: F.rootCaller)
        #expect(await errorCode { try await service.deleteAlias(aliasName: "alias/app", caller: F.rootCaller) } == .notFound)
        #expect(await errorCode { _ = try await service.encrypt(keyID: "alias/app", plaintext: [1], caller: F.rootCaller) } == .notFound)
    }

    @Test("tags: add, replace, remove, limits")
    func tags() async throws {
        let fixture = try F { $0.limits.maximumTagsPerKey = 3 }
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(tags: [KeyTag(key: "team", value: "a")]), caller: F.rootCaller)
        try await service.tagResource(keyID: key.arn, tags: [KeyTag(key: "team", value: "b"), KeyTag(key: "env", value: "prod")], caller: F.rootCaller)
        #expect(try await service.listResourceTags(keyID: key.arn, caller: F.rootCaller).entries == [KeyTag(key: "env", value: "prod"), KeyTag(key: "team", value: "b")])
        #expect(await errorCode { try await service.tagResource(keyID: key.arn, tags: [KeyTag(key: "x", value: ""), KeyTag(key: "y", value: "")], caller: F.rootCaller) } == .limitExceeded)
        #expect(await errorCode { try await service.tagResource(keyID: key.arn, tags: [KeyTag(key: "x", value: "1"), KeyTag(key: "x", value: "2")], caller: F.rootCaller) } == .tag)
        #expect(await errorCode { try await service.tagResource(keyID: key.arn, tags: [KeyTag(key: "", value: "1")], caller: F.rootCaller) } == .tag)
        try await service.untagResource(keyID: key.arn, tagKeys: ["team", "absent"], caller: F.rootCaller)
        #expect(try await service.listResourceTags(keyID: key.arn, caller: F.rootCaller).entries == [KeyTag(key: "env", value: "prod")])
    }

    @Test("ListKeys pages through customer keys only; DescribeKey, policies and descriptions")
    func listAndDescribe() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        var created = Set<KeyID>()
        for index in 0..<5 {
            created.insert(try await service.createKey(CreateKeyRequest(description: "k\(index)"), caller: F.rootCaller).keyID)
        }
        _ = try await service.createKey(CreateKeyRequest(description: "service"), caller: F.healthLakeItself)
        var seen = [KeyID]()
        var marker: String?
        repeat {
            let page = try await service.listKeys(limit: 2, marker: marker, caller: F.rootCaller)
            seen += page.entries.map(\.keyID)
            marker = page.nextMarker
        } while marker != nil
        #expect(seen == seen.sorted())
        #expect(Set(seen) == created)
        let any = try #require(created.first)
        try await service.updateKeyDescription(keyID: any.description, description: "renamed", caller: F.rootCaller)
        #expect(try await service.describeKey(keyID: any.description, caller: F.rootCaller).description == "renamed")
        #expect(try await service.listKeyPolicies(keyID: any.description, caller: F.rootCaller) == ["default"])
        try await service.putKeyPolicy(keyID: any.description, policy: F.seedPolicy, caller: F.rootCaller)
        #expect(try await service.getKeyPolicy(keyID: any.description, caller: F.rootCaller) == F.seedPolicy)
        #expect(await errorCode { _ = try await service.getKeyPolicy(keyID: any.description, policyName: "other", caller: F.rootCaller) } == .notFound)
        // Only the account root may create keys under the default account policy.
        #expect(await errorCode { _ = try await service.createKey(CreateKeyRequest(), caller: F.caller(F.adminRole)) } == .accessDenied)
        // Other accounts may not even list.
        #expect(await errorCode { _ = try await service.listKeys(caller: F.caller(F.outsider)) } == .accessDenied)
    }

    @Test("service-owned keys: invisible to customers, usable and manageable only by their service")
    func serviceOwnedKeys() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let owned = try await service.createKey(CreateKeyRequest(description: "healthlake owned"), caller: F.healthLakeItself)
        #expect(owned.kind == .serviceOwned)
        #expect(owned.ownerService == F.healthLake)
        let dataKey = try await service.generateDataKey(keyID: owned.arn, keySpec: .aes256, caller: F.healthLakeItself)
        #expect(try await service.decrypt(ciphertextBlob: dataKey.ciphertextBlob, caller: F.healthLakeItself).plaintext == dataKey.plaintext)
        #expect(try await service.listKeys(caller: F.healthLakeItself).entries.map(\.keyID) == [owned.keyID])

        // A customer's view: it does not exist, and asking leaks nothing.
        let missing = KeyID.generate()
        for caller in [F.rootCaller, F.healthLakeForRole] {
            #expect(try await service.listKeys(caller: F.rootCaller).entries.isEmpty)
            #expect(await errorCode { _ = try await service.describeKey(keyID: owned.arn, caller: caller) } == .notFound)
            // A blob under a key the caller cannot see answers as a blob naming a key that never
            // existed: the key id inside a blob is unauthenticated until its key is found.
            #expect(await errorCode { _ = try await service.decrypt(ciphertextBlob: dataKey.ciphertextBlob, caller: caller) } == .invalidCiphertext)
            // Administration: not found for a customer; for the service acting on behalf of a
            // role, refused before any key is looked up (a service forwards no administration).
            let administration: KMSError.Code = caller.onBehalfOf == nil ? .notFound : .accessDenied
            #expect(await errorCode { try await service.disableKey(keyID: owned.arn, caller: caller) } == administration)
            #expect(await errorCode { _ = try await service.scheduleKeyDeletion(keyID: owned.arn, caller: caller) } == administration)
            #expect(await errorCode { try await service.createAlias(aliasName: "alias/steal", targetKeyID: owned.arn, caller: caller) } == administration)
        }
        let hiddenMessage = await message { _ = try await service.describeKey(keyID: owned.keyID.description, caller: F.rootCaller) }
        let missingMessage = await message { _ = try await service.describeKey(keyID: missing.description, caller: F.rootCaller) }
        #expect(hiddenMessage?.replacingOccurrences(of: owned.keyID.description, with: "ID") == missingMessage?.replacingOccurrences(of: missing.description, with: "ID"))
        #expect(await errorCode { try await service.putKeyPolicy(keyID: owned.arn, policy: F.seedPolicy, caller: F.healthLakeItself) } == .unsupportedOperation)

        // Customers never see its events; the service sees only its own.
        let customerEvents = try await service.lookupEvents(caller: F.rootCaller).events
        #expect(customerEvents.allSatisfy { $0.keyID != owned.keyID })
        #expect(!customerEvents.contains { $0.eventName == "CreateKey" || $0.eventName == "GenerateDataKey" })
        let serviceEvents = try await service.lookupEvents(caller: F.healthLakeItself).events
        #expect(!serviceEvents.isEmpty)
        #expect(serviceEvents.allSatisfy { $0.keyID == owned.keyID })
    }
}

/// The message of the ``KMSError`` `body` throws.
func message(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch let error as KMSError {
        return error.message
    } catch {
        return "\(error)"
    }
}

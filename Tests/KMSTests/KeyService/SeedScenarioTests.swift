import Foundation
import Synchronization
import Testing

@testable import KMS

/// The seed document's story: the HealthLake role uses a customer-managed key only through the
/// data service, which holds a grant; revoking the grant stops the data service at once.
@Suite("Seed scenario")
struct SeedScenarioTests {
    typealias F = KeyServiceFixture

    func seedKey(_ fixture: F) async throws -> KeyMetadata {
        try await fixture.service.createKey(CreateKeyRequest(description: "datastore key", policy: F.seedPolicy), caller: F.rootCaller)
    }

    @Test("the role is denied directly and allowed through HealthLake; HealthLake's grant works until revoked")
    func seedScenario() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await self.seedKey(fixture)
        let role = F.caller(F.healthLakeRole)

        #expect(await errorCode { _ = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, caller: role) } == .accessDenied)
        #expect(await errorCode { _ = try await service.describeKey(keyID: key.arn, caller: role) } == .accessDenied)
        let directGrant = CreateGrantRequest(keyID: key.arn, granteePrincipal: F.healthLake, operations: ["Decrypt"])
        #expect(await errorCode { _ = try await service.createGrant(directGrant, caller: role) } == .accessDenied)

        // Through HealthLake, on the role's behalf.
        _ = try await service.describeKey(keyID: key.arn, caller: F.healthLakeForRole)
        let dataKey = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, encryptionContext: ["datastore": "ds1"], caller: F.healthLakeForRole)
        let grant = try await service.createGrant(
            CreateGrantRequest(
                keyID: key.arn, granteePrincipal: F.healthLake, retiringPrincipal: F.healthLake,
                operations: ["Decrypt", "GenerateDataKey", "DescribeKey", "RetireGrant"]
            ),
            caller: F.healthLakeForRole
        )

        // HealthLake for itself, by the grant.
        let opened = try await service.decrypt(ciphertextBlob: dataKey.ciphertextBlob, encryptionContext: ["datastore": "ds1"], caller: F.healthLakeItself)
        #expect(opened.plaintext == dataKey.plaintext)
        _ = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, caller: F.healthLakeItself)
        // Not granted: Encrypt.
        #expect(await errorCode { _ = try await service.encrypt(keyID: key.arn, plaintext: [1], caller: F.healthLakeItself) } == .accessDenied)

        try await service.revokeGrant(keyID: key.arn, grantID: grant.grantID, caller: F.rootCaller)
        #expect(
            await errorCode { _ = try await service.decrypt(ciphertextBlob: dataKey.ciphertextBlob, encryptionContext: ["datastore": "ds1"], caller: F.healthLakeItself) }
                == .accessDenied
        )
        // The role through HealthLake still works: that is the policy, not the grant.
        _ = try await service.decrypt(ciphertextBlob: dataKey.ciphertextBlob, encryptionContext: ["datastore": "ds1"], caller: F.healthLakeForRole)

        // The audit trail records who acted, through whom, and how.
        let events = try fixture.auditEvents()
        let createGrant = try #require(events.last { $0["eventName"] as? String == "CreateGrant" && $0["errorCode"] == nil })
        let identity = try #require(createGrant["userIdentity"] as? [String: Any])
        #expect(identity["arn"] as? String == F.healthLakeRole)
        #expect(identity["invokedBy"] as? String == F.healthLake)
        #expect(identity["type"] as? String == "AssumedRole")
        let grantDecrypt = try #require(events.first { $0["eventName"] as? String == "Decrypt" && ($0["userIdentity"] as? [String: Any])?["type"] as? String == "AWSService" })
        #expect((grantDecrypt["additionalEventData"] as? [String: Any])?["grantId"] as? String == grant.grantID)
        let denied = try #require(events.last { $0["eventName"] as? String == "Decrypt" && $0["errorCode"] != nil })
        #expect(denied["errorCode"] as? String == "AccessDeniedException")
        #expect(try service.auditTrail.verifyChain().isIntact)
    }

    @Test("kms:GrantIsForAWSResource is true through a service and absent directly")
    func grantIsForAWSResource() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let policy = PolicyFixtures.policy(
            #"{"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#,
            #"{"Sid":"grants","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Admin"},"Action":"kms:CreateGrant","Resource":"*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}"#
        )
        let key = try await fixture.service.createKey(CreateKeyRequest(policy: policy), caller: F.rootCaller)
        let request = CreateGrantRequest(keyID: key.arn, granteePrincipal: F.healthLake, operations: ["Decrypt"])
        #expect(await errorCode { _ = try await fixture.service.createGrant(request, caller: F.caller(F.adminRole)) } == .accessDenied)
        _ = try await fixture.service.createGrant(request, caller: F.caller(F.healthLake, onBehalfOf: F.adminRole))
    }

    @Test("onBehalfOf from a principal that is not a registered service is refused and audited")
    func impersonationRefused() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await self.seedKey(fixture)
        // Admin claims to act for the root, and for the role; both refused even though those could.
        for claimed in [F.root, F.healthLakeRole] {
            let impostor = F.caller(F.adminRole, onBehalfOf: claimed)
            #expect(await errorCode { _ = try await service.encrypt(keyID: key.arn, plaintext: [1], caller: impostor) } == .accessDenied)
        }
        // A service may not claim another service, or garbage.
        for claimed in [F.healthLake, "not-an-arn", String(repeating: "a", count: 5000)] {
            #expect(await errorCode { _ = try await service.describeKey(keyID: key.arn, caller: F.caller(F.healthLake, onBehalfOf: claimed)) } == .accessDenied)
        }
        let refusals = try fixture.auditEvents().filter { ($0["additionalEventData"] as? [String: Any])?["refusedOnBehalfOf"] != nil }
        #expect(refusals.count == 5)
        let first = try #require(refusals.first)
        #expect((first["userIdentity"] as? [String: Any])?["arn"] as? String == F.adminRole)
        #expect(first["errorCode"] as? String == "AccessDeniedException")
    }

    @Test("revocation under load: no Decrypt that starts after RevokeGrant returns succeeds")
    func revocationUnderLoad() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await self.seedKey(fixture)
        let grant = try await service.createGrant(
            CreateGrantRequest(keyID: key.arn, granteePrincipal: F.healthLake, operations: ["Decrypt"]),
            caller: F.healthLakeForRole
        )
        let blob = try await service.encrypt(keyID: key.arn, plaintext: [42], caller: F.rootCaller).ciphertextBlob
        let counters = LoadCounters()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    for _ in 0..<8 {
                        let startedAfterRevoke = counters.revoked.load(ordering: .sequentiallyConsistent)
                        do {
                            _ = try await service.decrypt(ciphertextBlob: blob, caller: F.healthLakeItself)
                            counters.successes.add(1, ordering: .relaxed)
                            if startedAfterRevoke { counters.violations.add(1, ordering: .relaxed) }
                        } catch let error as KMSError {
                            #expect(error.code == .accessDenied)
                        }
                    }
                }
            }
            group.addTask {
                while counters.successes.load(ordering: .relaxed) < 32 { await Task.yield() }
                try await service.revokeGrant(keyID: key.arn, grantID: grant.grantID, caller: F.rootCaller)
                counters.revoked.store(true, ordering: .sequentiallyConsistent)
            }
            try await group.waitForAll()
        }
        let wasRevoked = counters.revoked.load(ordering: .sequentiallyConsistent)
        let violationCount = counters.violations.load(ordering: .relaxed)
        let successCount = counters.successes.load(ordering: .relaxed)
        #expect(wasRevoked)
        #expect(violationCount == 0)
        #expect(successCount >= 32)
        #expect(try service.auditTrail.verifyChain() == .intact(eventCount: try fixture.auditDocuments().count))
    }
}

/// Shared flags for the load test.
final class LoadCounters: Sendable {
    let revoked = Atomic<Bool>(false)
    let violations = Atomic<Int>(0)
    let successes = Atomic<Int>(0)
}

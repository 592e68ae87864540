import Foundation
import Testing

@testable import KMS

@Suite("Grants")
struct GrantTests {
    typealias F = KeyServiceFixture
    static let admin = F.caller(F.adminRole)

    func key(_ fixture: F, policy: String? = nil) async throws -> KeyMetadata {
        try await fixture.service.createKey(CreateKeyRequest(policy: policy), caller: F.rootCaller)
    }

    @Test("EncryptionContextSubset and EncryptionContextEquals constraints")
    func constraints() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await self.key(fixture)
        _ = try await service.createGrant(
            CreateGrantRequest(
                keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Encrypt", "Decrypt"],
                constraints: GrantConstraints(encryptionContextSubset: ["datastore": "A"])
            ),
            caller: F.rootCaller
        )
        let blob = try await service.encrypt(keyID: key.arn, plaintext: [1], encryptionContext: ["datastore": "A", "type": "Patient"], caller: Self.admin)
        _ = try await service.decrypt(ciphertextBlob: blob.ciphertextBlob, encryptionContext: ["datastore": "A", "type": "Patient"], caller: Self.admin)
        #expect(await errorCode { _ = try await service.encrypt(keyID: key.arn, plaintext: [1], encryptionContext: ["datastore": "B"], caller: Self.admin) } == .accessDenied)
        #expect(await errorCode { _ = try await service.encrypt(keyID: key.arn, plaintext: [1], caller: Self.admin) } == .accessDenied)
        #expect(await errorCode { _ = try await service.encrypt(keyID: key.arn, plaintext: [1], encryptionContext: ["Datastore": "A"], caller: Self.admin) } == .accessDenied)

        let other = try await self.key(fixture)
        _ = try await service.createGrant(
            CreateGrantRequest(
                keyID: other.arn, granteePrincipal: F.adminRole, operations: ["GenerateDataKey"],
                constraints: GrantConstraints(encryptionContextEquals: ["a": "1"])
            ),
            caller: F.rootCaller
        )
        _ = try await service.generateDataKey(keyID: other.arn, keySpec: .aes256, encryptionContext: ["a": "1"], caller: Self.admin)
        #expect(await errorCode { _ = try await service.generateDataKey(keyID: other.arn, keySpec: .aes256, encryptionContext: ["a": "1", "b": "2"], caller: Self.admin) } == .accessDenied)
        #expect(await errorCode { _ = try await service.generateDataKey(keyID: other.arn, keySpec: .aes256, caller: Self.admin) } == .accessDenied)
        // The grant allows only GenerateDataKey, not Decrypt.
        let dataKey = try await service.generateDataKey(keyID: other.arn, keySpec: .aes256, encryptionContext: ["a": "1"], caller: Self.admin)
        #expect(await errorCode { _ = try await service.decrypt(ciphertextBlob: dataKey.ciphertextBlob, encryptionContext: ["a": "1"], caller: Self.admin) } == .accessDenied)
    }

    @Test("invalid grant requests are ValidationException")
    func validation() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let key = try await self.key(fixture)
        let requests = [
            CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: []),
            CreateGrantRequest(keyID: key.arn, granteePrincipal: "", operations: ["Decrypt"]),
            CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Decrypt", "Verify"]),
            CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["DescribeKey"], constraints: GrantConstraints(encryptionContextSubset: ["a": "b"])),
            CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Decrypt"], constraints: GrantConstraints(encryptionContextSubset: ["a": "b"], encryptionContextEquals: ["a": "b"])),
            CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Decrypt"], name: "bad name!"),
        ]
        for request in requests {
            #expect(await errorCode { _ = try await fixture.service.createGrant(request, caller: F.rootCaller) } == .validation)
        }
        #expect(try await fixture.service.listGrants(keyID: key.arn, caller: F.rootCaller).entries.isEmpty)
    }

    @Test("Name makes CreateGrant idempotent; other parameters under the same name are refused")
    func nameIdempotency() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await self.key(fixture)
        let request = CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, retiringPrincipal: F.adminRole, operations: ["Decrypt", "Encrypt"], name: "datastore-1")
        let first = try await service.createGrant(request, caller: F.rootCaller)
        var reordered = request
        reordered.operations = ["Encrypt", "Decrypt", "Encrypt"]
        let second = try await service.createGrant(reordered, caller: F.rootCaller)
        #expect(first.grantID == second.grantID)
        #expect(first.grantToken != second.grantToken)
        #expect(try await service.listGrants(keyID: key.arn, caller: F.rootCaller).entries.count == 1)
        var different = request
        different.operations = ["Decrypt"]
        #expect(await errorCode { _ = try await service.createGrant(different, caller: F.rootCaller) } == .alreadyExists)
        // Either token retires the grant.
        try await service.retireGrant(grantToken: second.grantToken, caller: Self.admin)
        #expect(try await service.listGrants(keyID: key.arn, caller: F.rootCaller).entries.isEmpty)
        #expect(await errorCode { try await service.retireGrant(grantToken: first.grantToken, caller: Self.admin) } == .notFound)
        #expect(await errorCode { try await service.retireGrant(grantToken: "garbage", caller: Self.admin) } == .invalidGrantToken)
    }

    @Test("who may retire: the retiring principal, a grantee with RetireGrant, the key policy; no one else")
    func retirement() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await self.key(fixture)
        let outsider = F.caller(F.outsider)
        let retiringRole = "arn:aws:iam::111122223333:role/Retirer"

        let byRetiring = try await service.createGrant(CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, retiringPrincipal: retiringRole, operations: ["Decrypt"]), caller: F.rootCaller)
        #expect(await errorCode { try await service.retireGrant(keyID: key.arn, grantID: byRetiring.grantID, caller: Self.admin) } == .accessDenied)
        #expect(await errorCode { try await service.retireGrant(grantToken: byRetiring.grantToken, caller: outsider) } == .accessDenied)
        try await service.retireGrant(grantToken: byRetiring.grantToken, caller: F.caller(retiringRole))

        let byGrantee = try await service.createGrant(CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Decrypt", "RetireGrant"]), caller: F.rootCaller)
        try await service.retireGrant(keyID: key.arn, grantID: byGrantee.grantID, caller: Self.admin)

        let byPolicy = try await service.createGrant(CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Decrypt"]), caller: F.rootCaller)
        try await service.retireGrant(keyID: key.arn, grantID: byPolicy.grantID, caller: F.rootCaller)

        #expect(await errorCode { try await service.retireGrant(caller: F.rootCaller) } == .validation)
        #expect(await errorCode { try await service.retireGrant(keyID: key.arn, grantID: byPolicy.grantID, caller: F.rootCaller) } == .notFound)
        #expect(await errorCode { try await service.revokeGrant(keyID: key.arn, grantID: byPolicy.grantID, caller: F.rootCaller) } == .notFound)
        // Revoking needs kms:RevokeGrant in the policy; a grantee cannot revoke its own grant.
        let grant = try await service.createGrant(CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Decrypt", "RetireGrant"]), caller: F.rootCaller)
        #expect(await errorCode { try await service.revokeGrant(keyID: key.arn, grantID: grant.grantID, caller: Self.admin) } == .accessDenied)
    }

    @Test("an explicit deny in the policy beats a grant")
    func denyBeatsGrant() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let policy = PolicyFixtures.policy(
            #"{"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#,
            #"{"Sid":"deny","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/Admin"},"Action":"kms:Decrypt","Resource":"*"}"#
        )
        let key = try await self.key(fixture, policy: policy)
        _ = try await fixture.service.createGrant(CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Encrypt", "Decrypt"]), caller: F.rootCaller)
        let blob = try await fixture.service.encrypt(keyID: key.arn, plaintext: [1], caller: Self.admin).ciphertextBlob
        #expect(await errorCode { _ = try await fixture.service.decrypt(ciphertextBlob: blob, caller: Self.admin) } == .accessDenied)
    }

    @Test("a grant with CreateGrant lets its grantee grant no more than it has")
    func grantsFromGrants() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await self.key(fixture)
        _ = try await service.createGrant(CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Decrypt", "CreateGrant"]), caller: F.rootCaller)
        _ = try await service.createGrant(CreateGrantRequest(keyID: key.arn, granteePrincipal: F.healthLake, operations: ["Decrypt"]), caller: Self.admin)
        #expect(await errorCode { _ = try await service.createGrant(CreateGrantRequest(keyID: key.arn, granteePrincipal: F.healthLake, operations: ["Encrypt"]), caller: Self.admin) } == .accessDenied)
    }

    @Test("paging ListGrants, ListRetirableGrants, and the grants-per-key limit")
    func listingAndLimits() async throws {
        let fixture = try F { $0.limits.maximumGrantsPerKey = 5 }
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await self.key(fixture)
        var ids = Set<String>()
        for _ in 0..<5 {
            ids.insert(try await service.createGrant(CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, retiringPrincipal: F.adminRole, operations: ["Decrypt"]), caller: F.rootCaller).grantID)
        }
        #expect(await errorCode { _ = try await service.createGrant(CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Decrypt"]), caller: F.rootCaller) } == .limitExceeded)
        var seen = [String]()
        var marker: String?
        repeat {
            let page = try await service.listGrants(keyID: key.arn, limit: 2, marker: marker, caller: F.rootCaller)
            seen += page.entries.map(\.grantID)
            marker = page.nextMarker
        } while marker != nil
        #expect(Set(seen) == ids)
        #expect(seen.count == 5)
        let retirable = try await service.listRetirableGrants(retiringPrincipal: F.adminRole, limit: 10, caller: Self.admin)
        #expect(Set(retirable.entries.map(\.grantID)) == ids)
        #expect(await errorCode { _ = try await service.listGrants(keyID: key.arn, caller: Self.admin) } == .accessDenied)
    }
}

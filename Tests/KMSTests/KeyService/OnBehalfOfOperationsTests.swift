import Foundation
import Testing

@testable import KMS

/// Which operations a registered service may perform on behalf of another principal.
@Suite("On-behalf-of operations per service")
struct OnBehalfOfOperationsTests {
    typealias F = KeyServiceFixture

    @Test("a data service forwards describe, grants and data keys only; the set is configurable per service")
    func operationSets() throws {
        let fixture = try F()
        defer { fixture.remove() }
        let defaults = fixture.service.configuration.onBehalfOfOperations(of: F.healthLake)
        #expect(defaults == KeyServiceConfiguration.dataServiceOnBehalfOfOperations)
        for administrative: KMSOperation in [.disableKey, .scheduleKeyDeletion, .putKeyPolicy, .createKey, .revokeGrant, .createAlias, .lookupEvents] {
            #expect(!defaults.contains(administrative), "\(administrative)")
        }
        // A principal that is not a registered service forwards nothing.
        #expect(fixture.service.configuration.onBehalfOfOperations(of: F.adminRole).isEmpty)
    }

    @Test("a service configured for Decrypt only is refused GenerateDataKey on behalf of a role, with both identities audited")
    func configuredSet() async throws {
        let fixture = try F { $0.onBehalfOfOperationsByService = [F.healthLake: [.decrypt, .describeKey]] }
        defer { fixture.remove() }
        let key = try await fixture.service.createKey(CreateKeyRequest(policy: F.seedPolicy), caller: F.rootCaller)
        await #expect(throws: KMSError.self) {
            _ = try await fixture.service.generateDataKey(keyID: key.arn, keySpec: .aes256, caller: F.healthLakeForRole)
        }
        let refusal = try #require(try fixture.auditEvents().last)
        #expect(refusal["eventName"] as? String == "GenerateDataKey")
        #expect(refusal["errorCode"] as? String == "AccessDeniedException")
        #expect((refusal["additionalEventData"] as? [String: Any])?["refusedOnBehalfOf"] as? String == F.healthLakeRole)
        #expect(String(describing: refusal["userIdentity"] ?? "").contains(F.healthLake))
        // DescribeKey, which it may forward, still works.
        #expect(try await fixture.service.describeKey(keyID: key.arn, caller: F.healthLakeForRole).keyID == key.keyID)
    }
}

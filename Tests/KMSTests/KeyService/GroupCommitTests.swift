import Foundation
import Synchronization
import Testing

@testable import KMS

@Suite("Group commit, restart and canonical JSON")
struct GroupCommitTests {
    typealias F = KeyServiceFixture

    @Test("concurrent successes and failures share batches without affecting one another")
    func mixedBatch() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let blob = try await service.encrypt(keyID: key.arn, plaintext: [5], encryptionContext: ["ok": "1"], caller: F.rootCaller).ciphertextBlob
        let before = try fixture.auditDocuments().count
        let results = try await withThrowingTaskGroup(of: (Int, KMSError.Code?).self) { group in
            for index in 0..<128 {
                group.addTask {
                    let code = await errorCode {
                        switch index % 4 {
                        case 0: #expect(try await service.decrypt(ciphertextBlob: blob, encryptionContext: ["ok": "1"], caller: F.rootCaller).plaintext == [5])
                        case 1: _ = try await service.decrypt(ciphertextBlob: blob, encryptionContext: ["ok": "2"], caller: F.rootCaller)
                        case 2: _ = try await service.generateDataKey(keyID: key.arn, keySpec: .aes128, caller: F.rootCaller)
                        default: try await service.tagResource(keyID: key.arn, tags: [KeyTag(key: "aws:bad", value: "")], caller: F.rootCaller)
                        }
                    }
                    return (index, code)
                }
            }
            return try await group.reduce(into: [Int: KMSError.Code?]()) { $0[$1.0] = $1.1 }
        }
        for (index, code) in results {
            let expected: [KMSError.Code?] = [nil, .invalidCiphertext, nil, .tag]
            #expect(code == expected[index % 4], "call \(index)")
        }
        #expect(try fixture.auditDocuments().count == before + 128)
        #expect(try await service.listResourceTags(keyID: key.arn, caller: F.rootCaller).entries.isEmpty)
        #expect(try service.auditTrail.verifyChain().isIntact)
    }

    @Test("after a restart keys, grants, aliases and the audit chain are intact; another root key is refused")
    func restart() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let key = try await fixture.service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        try await fixture.service.createAlias(aliasName: "alias/kept", targetKeyID: key.arn, caller: F.rootCaller)
        let grant = try await fixture.service.createGrant(CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["Decrypt"]), caller: F.rootCaller)
        let blob = try await fixture.service.encrypt(keyID: "alias/kept", plaintext: [8], caller: F.rootCaller).ciphertextBlob
        let events = try fixture.auditDocuments().count
        try fixture.service.close()

        let reopened = try KeyService(path: fixture.path, rootKey: fixture.rootKey, configuration: fixture.service.configuration, clock: fixture.clock)
        #expect(try reopened.auditTrail.verifyChain() == .intact(eventCount: events))
        #expect(try await reopened.decrypt(ciphertextBlob: blob, caller: F.caller(F.adminRole)).plaintext == [8])
        #expect(try await reopened.listGrants(keyID: "alias/kept", caller: F.rootCaller).entries.map(\.grantID) == [grant.grantID])
        #expect(try reopened.auditTrail.verifyChain() == .intact(eventCount: events + 2))

        try reopened.close()
        let wrongRoot = try RootKey(bytes: [UInt8](repeating: 0x07, count: 32))
        #expect(throws: RootKeyError.self) {
            _ = try KeyService(path: fixture.path, rootKey: wrongRoot, configuration: fixture.service.configuration)
        }
    }

    @Test("canonical JSON escapes what it must and parses back to the same value")
    func canonicalJSON() throws {
        let tricky = "quote\" backslash\\ slash/ newline\n tab\t nul\u{0} bell\u{7} é 🔑 \u{2028}"
        let value: AuditJSON = ["b": .string(tricky), "a": [1, true, .null, "x"], "é": ["z": 0, "y": -5]]
        let text = value.canonicalText
        #expect(text.hasPrefix(#"{"a":[1,true,null,"x"],"b":"quote\" backslash\\ slash/ newline\n tab\t nul\u0000 bell\u0007"#))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(parsed["b"] as? String == tricky)
        #expect((parsed["é"] as? [String: Int]) == ["z": 0, "y": -5])
        #expect(value.canonicalText == text)
    }
}

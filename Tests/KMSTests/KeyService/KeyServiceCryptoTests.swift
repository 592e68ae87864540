import Foundation
import Testing

@testable import KMS

@Suite("KeyService cryptographic operations")
struct KeyServiceCryptoTests {
    typealias F = KeyServiceFixture

    @Test("encrypt then decrypt round-trips, by key id, key ARN, alias and alias ARN")
    func roundTrip() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(description: "test"), caller: F.rootCaller)
        try await service.createAlias(aliasName: "alias/test", targetKeyID: key.keyID.description, caller: F.rootCaller)
        let plaintext: [UInt8] = Array("patient 42".utf8)
        for name in [key.keyID.description, key.arn, "alias/test", "arn:aws:kms:us-east-1:111122223333:alias/test"] {
            let sealed = try await service.encrypt(keyID: name, plaintext: plaintext, encryptionContext: ["a": "1", "b": "2"], caller: F.rootCaller)
            #expect(sealed.keyARN == key.arn)
            let opened = try await service.decrypt(ciphertextBlob: sealed.ciphertextBlob, encryptionContext: ["b": "2", "a": "1"], caller: F.rootCaller)
            #expect(opened.plaintext == plaintext)
            let named = try await service.decrypt(ciphertextBlob: sealed.ciphertextBlob, keyID: name, encryptionContext: ["a": "1", "b": "2"], caller: F.rootCaller)
            #expect(named.plaintext == plaintext)
        }
    }

    @Test("wrong context is InvalidCiphertext, wrong key is IncorrectKey, tampering is InvalidCiphertext")
    func rejections() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let other = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let blob = try await service.encrypt(keyID: key.keyID.description, plaintext: [1, 2, 3], encryptionContext: ["a": "1"], caller: F.rootCaller).ciphertextBlob
        #expect(await errorCode { _ = try await service.decrypt(ciphertextBlob: blob, encryptionContext: ["a": "2"], caller: F.rootCaller) } == .invalidCiphertext)
        #expect(await errorCode { _ = try await service.decrypt(ciphertextBlob: blob, caller: F.rootCaller) } == .invalidCiphertext)
        #expect(await errorCode { _ = try await service.decrypt(ciphertextBlob: blob, keyID: other.keyID.description, encryptionContext: ["a": "1"], caller: F.rootCaller) } == .incorrectKey)
        for index in [0, 20, 30, blob.count - 1] {
            var tampered = blob
            tampered[index] ^= 0x01
            let code = await errorCode { _ = try await service.decrypt(ciphertextBlob: tampered, encryptionContext: ["a": "1"], caller: F.rootCaller) }
            // Flipping a key id bit names a key that does not exist.
            #expect(code == .invalidCiphertext || (index > 0 && index <= 16 && code == .notFound), "byte \(index): \(String(describing: code))")
        }
        #expect(await errorCode { _ = try await service.decrypt(ciphertextBlob: [1, 2, 3], caller: F.rootCaller) } == .invalidCiphertext)
    }

    @Test("data keys: KeySpec and NumberOfBytes sizes, and the encrypted copy decrypts to the plaintext copy")
    func dataKeys() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let id = key.keyID.description
        let aes128 = try await service.generateDataKey(keyID: id, keySpec: .aes128, caller: F.rootCaller)
        #expect(aes128.plaintext?.count == 16)
        let aes256 = try await service.generateDataKey(keyID: id, keySpec: .aes256, encryptionContext: ["x": "y"], caller: F.rootCaller)
        #expect(aes256.plaintext?.count == 32)
        let opened = try await service.decrypt(ciphertextBlob: aes256.ciphertextBlob, encryptionContext: ["x": "y"], caller: F.rootCaller)
        #expect(opened.plaintext == aes256.plaintext)
        for count in [1, 1024] {
            #expect(try await service.generateDataKey(keyID: id, numberOfBytes: count, caller: F.rootCaller).plaintext?.count == count)
        }
        let without = try await service.generateDataKeyWithoutPlaintext(keyID: id, keySpec: .aes256, caller: F.rootCaller)
        #expect(without.plaintext == nil)
        #expect(try await service.decrypt(ciphertextBlob: without.ciphertextBlob, caller: F.rootCaller).plaintext.count == 32)
        #expect(try await service.generateRandom(numberOfBytes: 1024, caller: F.rootCaller).count == 1024)
    }

    @Test("re-encrypt moves a ciphertext to another key and context")
    func reEncrypt() async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let source = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let destination = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let blob = try await service.encrypt(keyID: source.arn, plaintext: [9, 9], encryptionContext: ["v": "1"], caller: F.rootCaller).ciphertextBlob
        let moved = try await service.reEncrypt(
            ciphertextBlob: blob, sourceEncryptionContext: ["v": "1"], destinationKeyID: destination.arn,
            destinationEncryptionContext: ["v": "2"], caller: F.rootCaller
        )
        #expect(moved.sourceKeyARN == source.arn)
        #expect(moved.keyARN == destination.arn)
        let opened = try await service.decrypt(ciphertextBlob: moved.ciphertextBlob, keyID: destination.arn, encryptionContext: ["v": "2"], caller: F.rootCaller)
        #expect(opened.plaintext == [9, 9])
    }

    struct HostileRow: Sendable, CustomStringConvertible {
        let name: String
        let expected: KMSError.Code
        let call: @Sendable (KeyService, KeyMetadata) async throws -> Void
        var description: String { self.name }
    }

    static let hostileRows: [HostileRow] = {
        let root = F.rootCaller
        let hugeContext = Dictionary(uniqueKeysWithValues: (0..<600).map { ("key-\($0)", String(repeating: "v", count: 20)) })
        return [
            HostileRow(name: "empty plaintext", expected: .validation) { s, k in _ = try await s.encrypt(keyID: k.arn, plaintext: [], caller: root) },
            HostileRow(name: "4097-byte plaintext", expected: .validation) { s, k in _ = try await s.encrypt(keyID: k.arn, plaintext: [UInt8](repeating: 1, count: 4097), caller: root) },
            HostileRow(name: "NumberOfBytes 0", expected: .validation) { s, k in _ = try await s.generateDataKey(keyID: k.arn, numberOfBytes: 0, caller: root) },
            HostileRow(name: "NumberOfBytes 1025", expected: .validation) { s, k in _ = try await s.generateDataKey(keyID: k.arn, numberOfBytes: 1025, caller: root) },
            HostileRow(name: "NumberOfBytes negative", expected: .validation) { s, k in _ = try await s.generateDataKey(keyID: k.arn, numberOfBytes: -1, caller: root) },
            HostileRow(name: "KeySpec and NumberOfBytes", expected: .validation) { s, k in _ = try await s.generateDataKey(keyID: k.arn, keySpec: .aes256, numberOfBytes: 32, caller: root) },
            HostileRow(name: "neither KeySpec nor NumberOfBytes", expected: .validation) { s, k in _ = try await s.generateDataKey(keyID: k.arn, caller: root) },
            HostileRow(name: "GenerateRandom 0", expected: .validation) { s, _ in _ = try await s.generateRandom(numberOfBytes: 0, caller: root) },
            HostileRow(name: "GenerateRandom 1025", expected: .validation) { s, _ in _ = try await s.generateRandom(numberOfBytes: 1025, caller: root) },
            HostileRow(name: "empty key id", expected: .validation) { s, _ in _ = try await s.encrypt(keyID: "", plaintext: [1], caller: root) },
            HostileRow(name: "3000-character key id", expected: .validation) { s, _ in _ = try await s.encrypt(keyID: String(repeating: "k", count: 3000), plaintext: [1], caller: root) },
            HostileRow(name: "not a uuid", expected: .notFound) { s, _ in _ = try await s.encrypt(keyID: "not-a-key", plaintext: [1], caller: root) },
            HostileRow(name: "unknown uuid", expected: .notFound) { s, _ in _ = try await s.encrypt(keyID: UUID().uuidString, plaintext: [1], caller: root) },
            HostileRow(name: "malformed ARN", expected: .notFound) { s, _ in _ = try await s.encrypt(keyID: "arn:aws:kms:us-east-1", plaintext: [1], caller: root) },
            HostileRow(name: "ARN of another service", expected: .notFound) { s, k in _ = try await s.encrypt(keyID: k.arn.replacingOccurrences(of: ":kms:", with: ":s3:"), plaintext: [1], caller: root) },
            HostileRow(name: "ARN of another region", expected: .notFound) { s, k in _ = try await s.encrypt(keyID: k.arn.replacingOccurrences(of: "us-east-1", with: "eu-west-1"), plaintext: [1], caller: root) },
            HostileRow(name: "ARN of another account", expected: .notFound) { s, k in _ = try await s.encrypt(keyID: k.arn.replacingOccurrences(of: "111122223333", with: "444455556666"), plaintext: [1], caller: root) },
            HostileRow(name: "ARN with a bad resource", expected: .notFound) { s, _ in _ = try await s.encrypt(keyID: "arn:aws:kms:us-east-1:111122223333:key/xyz", plaintext: [1], caller: root) },
            HostileRow(name: "unknown alias", expected: .notFound) { s, _ in _ = try await s.encrypt(keyID: "alias/none", plaintext: [1], caller: root) },
            HostileRow(name: "huge encryption context", expected: .validation) { s, k in _ = try await s.encrypt(keyID: k.arn, plaintext: [1], encryptionContext: hugeContext, caller: root) },
            HostileRow(name: "empty context key", expected: .validation) { s, k in _ = try await s.encrypt(keyID: k.arn, plaintext: [1], encryptionContext: ["": "x"], caller: root) },
            HostileRow(name: "garbage blob", expected: .invalidCiphertext) { s, _ in _ = try await s.decrypt(ciphertextBlob: [UInt8](repeating: 7, count: 100), caller: root) },
            HostileRow(name: "oversized blob", expected: .invalidCiphertext) { s, _ in _ = try await s.decrypt(ciphertextBlob: [UInt8](repeating: 1, count: 10_000), caller: root) },
            HostileRow(name: "empty grant token", expected: .invalidGrantToken) { s, k in _ = try await s.encrypt(keyID: k.arn, plaintext: [1], grantTokens: [""], caller: root) },
            HostileRow(name: "malformed policy", expected: .malformedPolicyDocument) { s, k in try await s.putKeyPolicy(keyID: k.arn, policy: "{not json", caller: root) },
            HostileRow(name: "policy with unknown condition key", expected: .malformedPolicyDocument) { s, k in
                try await s.putKeyPolicy(keyID: k.arn, policy: PolicyFixtures.policy(#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:Nope":"x"}}}"#), caller: root)
            },
            HostileRow(name: "policy that locks the caller out", expected: .malformedPolicyDocument) { s, k in
                try await s.putKeyPolicy(keyID: k.arn, policy: PolicyFixtures.policy(#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Other"},"Action":"kms:*","Resource":"*"}"#), caller: root)
            },
            HostileRow(name: "bad grant id", expected: .invalidGrantID) { s, k in try await s.revokeGrant(keyID: k.arn, grantID: "nope", caller: root) },
            HostileRow(name: "unknown grant operation", expected: .validation) { s, k in
                _ = try await s.createGrant(CreateGrantRequest(keyID: k.arn, granteePrincipal: F.adminRole, operations: ["Sign"]), caller: root)
            },
            HostileRow(name: "List limit 0", expected: .validation) { s, _ in _ = try await s.listKeys(limit: 0, caller: root) },
            HostileRow(name: "List bad marker", expected: .invalidMarker) { s, _ in _ = try await s.listKeys(marker: "zzz", caller: root) },
            HostileRow(name: "reserved alias", expected: .invalidAliasName) { s, k in try await s.createAlias(aliasName: "alias/aws/x", targetKeyID: k.arn, caller: root) },
            HostileRow(name: "alias without prefix", expected: .invalidAliasName) { s, k in try await s.createAlias(aliasName: "test", targetKeyID: k.arn, caller: root) },
            HostileRow(name: "deletion window 6", expected: .validation) { s, k in _ = try await s.scheduleKeyDeletion(keyID: k.arn, pendingWindowInDays: 6, caller: root) },
            HostileRow(name: "deletion window 31", expected: .validation) { s, k in _ = try await s.scheduleKeyDeletion(keyID: k.arn, pendingWindowInDays: 31, caller: root) },
            HostileRow(name: "rotation period 89", expected: .validation) { s, k in try await s.enableKeyRotation(keyID: k.arn, rotationPeriodInDays: 89, caller: root) },
            HostileRow(name: "rotation period 2561", expected: .validation) { s, k in try await s.enableKeyRotation(keyID: k.arn, rotationPeriodInDays: 2561, caller: root) },
            HostileRow(name: "aws: tag", expected: .tag) { s, k in try await s.tagResource(keyID: k.arn, tags: [KeyTag(key: "aws:x", value: "y")], caller: root) },
            HostileRow(name: "description too long", expected: .validation) { s, k in try await s.updateKeyDescription(keyID: k.arn, description: String(repeating: "d", count: 8193), caller: root) },
        ]
    }()

    @Test("hostile input gets the right exception and changes nothing", arguments: Self.hostileRows)
    func hostileInput(row: HostileRow) async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let key = try await fixture.service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let before = try await fixture.service.describeKey(keyID: key.arn, caller: F.rootCaller)
        let policyBefore = try await fixture.service.getKeyPolicy(keyID: key.arn, caller: F.rootCaller)
        let eventsBefore = try fixture.auditDocuments().count
        #expect(await errorCode { try await row.call(fixture.service, key) } == row.expected)
        #expect(try await fixture.service.describeKey(keyID: key.arn, caller: F.rootCaller) == before)
        #expect(try await fixture.service.getKeyPolicy(keyID: key.arn, caller: F.rootCaller) == policyBefore)
        #expect(try await fixture.service.listGrants(keyID: key.arn, caller: F.rootCaller).entries.isEmpty)
        #expect(try await fixture.service.listAliases(caller: F.rootCaller).entries.isEmpty)
        #expect(try await fixture.service.listResourceTags(keyID: key.arn, caller: F.rootCaller).entries.isEmpty)
        // The refused call is audited with its error, and the audit event stays small.
        let events = try fixture.auditEvents()
        let refused = events[eventsBefore]
        #expect(refused["errorCode"] as? String == row.expected.exceptionName)
        #expect(try fixture.auditDocuments()[eventsBefore].utf8.count < 16_384)
        #expect(try fixture.service.auditTrail.verifyChain().isIntact)
    }
}

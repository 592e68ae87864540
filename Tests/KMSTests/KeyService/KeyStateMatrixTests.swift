import Foundation
import Testing

@testable import KMS

/// The AWS KMS key-state table: every operation that names a key, in every state.
@Suite("Key-state matrix")
struct KeyStateMatrixTests {
    typealias F = KeyServiceFixture

    /// What a test key comes with, made while it was still enabled.
    struct Subject: Sendable {
        let key: KeyMetadata
        let other: KeyMetadata
        let ciphertext: [UInt8]
        let grantID: String
        let aliasOnKey: String
        let aliasOnOther: String
    }

    enum Outcome: Sendable, Equatable, CustomStringConvertible {
        case ok
        case fails(KMSError.Code)
        var description: String {
            switch self {
            case .ok: "ok"
            case .fails(let code): code.exceptionName
            }
        }
    }

    struct Row: Sendable, CustomStringConvertible {
        let operation: String
        /// Expected outcome in Enabled, Disabled and PendingDeletion.
        let expected: [KeyState: Outcome]
        let call: @Sendable (KeyService, Subject) async throws -> Void
        var description: String { self.operation }
    }

    static let ok = Outcome.ok
    static let disabled = Outcome.fails(.disabled)
    static let invalid = Outcome.fails(.invalidState)

    static func row(_ name: String, _ enabled: Outcome, _ disabled: Outcome, _ pending: Outcome, _ call: @escaping @Sendable (KeyService, Subject) async throws -> Void) -> Row {
        Row(operation: name, expected: [.enabled: enabled, .disabled: disabled, .pendingDeletion: pending], call: call)
    }

    static let rows: [Row] = {
        let root = F.rootCaller
        return [
            row("DescribeKey", ok, ok, ok) { s, k in _ = try await s.describeKey(keyID: k.key.arn, caller: root) },
            row("EnableKey", ok, ok, invalid) { s, k in try await s.enableKey(keyID: k.key.arn, caller: root) },
            row("DisableKey", ok, ok, invalid) { s, k in try await s.disableKey(keyID: k.key.arn, caller: root) },
            row("UpdateKeyDescription", ok, ok, invalid) { s, k in try await s.updateKeyDescription(keyID: k.key.arn, description: "d", caller: root) },
            row("ScheduleKeyDeletion", ok, ok, invalid) { s, k in _ = try await s.scheduleKeyDeletion(keyID: k.key.arn, pendingWindowInDays: 7, caller: root) },
            row("CancelKeyDeletion", invalid, invalid, ok) { s, k in try await s.cancelKeyDeletion(keyID: k.key.arn, caller: root) },
            row("EnableKeyRotation", ok, disabled, invalid) { s, k in try await s.enableKeyRotation(keyID: k.key.arn, caller: root) },
            row("DisableKeyRotation", ok, disabled, invalid) { s, k in try await s.disableKeyRotation(keyID: k.key.arn, caller: root) },
            row("GetKeyRotationStatus", ok, ok, ok) { s, k in _ = try await s.getKeyRotationStatus(keyID: k.key.arn, caller: root) },
            row("RotateKeyOnDemand", ok, disabled, invalid) { s, k in try await s.rotateKeyOnDemand(keyID: k.key.arn, caller: root) },
            row("ListKeyRotations", ok, ok, ok) { s, k in _ = try await s.listKeyRotations(keyID: k.key.arn, caller: root) },
            row("CreateAlias", ok, ok, invalid) { s, k in try await s.createAlias(aliasName: "alias/new-\(k.key.keyID)", targetKeyID: k.key.arn, caller: root) },
            row("UpdateAlias", ok, ok, invalid) { s, k in try await s.updateAlias(aliasName: k.aliasOnOther, targetKeyID: k.key.arn, caller: root) },
            row("DeleteAlias", ok, ok, ok) { s, k in try await s.deleteAlias(aliasName: k.aliasOnKey, caller: root) },
            row("TagResource", ok, ok, invalid) { s, k in try await s.tagResource(keyID: k.key.arn, tags: [KeyTag(key: "team", value: "x")], caller: root) },
            row("UntagResource", ok, ok, invalid) { s, k in try await s.untagResource(keyID: k.key.arn, tagKeys: ["team"], caller: root) },
            row("ListResourceTags", ok, ok, ok) { s, k in _ = try await s.listResourceTags(keyID: k.key.arn, caller: root) },
            row("PutKeyPolicy", ok, ok, ok) { s, k in
                try await s.putKeyPolicy(keyID: k.key.arn, policy: KeyPolicy.defaultPolicy(accountID: F.account).document, caller: root)
            },
            row("GetKeyPolicy", ok, ok, ok) { s, k in _ = try await s.getKeyPolicy(keyID: k.key.arn, caller: root) },
            row("ListKeyPolicies", ok, ok, ok) { s, k in _ = try await s.listKeyPolicies(keyID: k.key.arn, caller: root) },
            row("Encrypt", ok, disabled, invalid) { s, k in _ = try await s.encrypt(keyID: k.key.arn, plaintext: [1], caller: root) },
            row("Decrypt", ok, disabled, invalid) { s, k in _ = try await s.decrypt(ciphertextBlob: k.ciphertext, caller: root) },
            row("ReEncrypt from", ok, disabled, invalid) { s, k in
                _ = try await s.reEncrypt(ciphertextBlob: k.ciphertext, destinationKeyID: k.other.arn, caller: root)
            },
            row("ReEncrypt to", ok, disabled, invalid) { s, k in
                let blob = try await s.encrypt(keyID: k.other.arn, plaintext: [2], caller: root).ciphertextBlob
                _ = try await s.reEncrypt(ciphertextBlob: blob, destinationKeyID: k.key.arn, caller: root)
            },
            row("GenerateDataKey", ok, disabled, invalid) { s, k in _ = try await s.generateDataKey(keyID: k.key.arn, keySpec: .aes256, caller: root) },
            row("GenerateDataKeyWithoutPlaintext", ok, disabled, invalid) { s, k in
                _ = try await s.generateDataKeyWithoutPlaintext(keyID: k.key.arn, numberOfBytes: 64, caller: root)
            },
            row("CreateGrant", ok, disabled, invalid) { s, k in
                _ = try await s.createGrant(CreateGrantRequest(keyID: k.key.arn, granteePrincipal: F.adminRole, operations: ["Decrypt"]), caller: root)
            },
            row("ListGrants", ok, ok, ok) { s, k in _ = try await s.listGrants(keyID: k.key.arn, caller: root) },
            row("RetireGrant", ok, ok, ok) { s, k in try await s.retireGrant(keyID: k.key.arn, grantID: k.grantID, caller: root) },
            row("RevokeGrant", ok, ok, ok) { s, k in try await s.revokeGrant(keyID: k.key.arn, grantID: k.grantID, caller: root) },
        ]
    }()


    @Test("operation × key state → outcome", arguments: Self.rows)
    func matrix(row: Row) async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let root = F.rootCaller
        for state in KeyState.allCases {
            let key = try await service.createKey(CreateKeyRequest(), caller: root)
            let other = try await service.createKey(CreateKeyRequest(), caller: root)
            let ciphertext = try await service.encrypt(keyID: key.arn, plaintext: [7], caller: root).ciphertextBlob
            let grant = try await service.createGrant(
                CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, retiringPrincipal: F.root, operations: ["Encrypt"]),
                caller: root
            )
            let aliasOnKey = "alias/on-\(key.keyID)"
            let aliasOnOther = "alias/other-\(key.keyID)"
            try await service.createAlias(aliasName: aliasOnKey, targetKeyID: key.arn, caller: root)
            try await service.createAlias(aliasName: aliasOnOther, targetKeyID: other.arn, caller: root)
            try await service.tagResource(keyID: key.arn, tags: [KeyTag(key: "team", value: "a")], caller: root)
            switch state {
            case .enabled: break
            case .disabled: try await service.disableKey(keyID: key.arn, caller: root)
            case .pendingDeletion: _ = try await service.scheduleKeyDeletion(keyID: key.arn, caller: root)
            }
            let subject = Subject(key: key, other: other, ciphertext: ciphertext, grantID: grant.grantID, aliasOnKey: aliasOnKey, aliasOnOther: aliasOnOther)
            let code = await errorCode { try await row.call(service, subject) }
            let outcome: Outcome = code.map(Outcome.fails) ?? .ok
            #expect(outcome == row.expected[state], "\(row.operation) on a \(state.rawValue) key")
            if outcome != .ok {
                #expect(try await service.describeKey(keyID: key.arn, caller: root).state == state, "a refused \(row.operation) leaves the state alone")
            }
        }
        #expect(try service.auditTrail.verifyChain().isIntact)
    }

    @Test("the table in KMSOperation agrees with the matrix for the operations it covers")
    func tableAgrees() {
        let names: [String: KMSOperation] = Dictionary(uniqueKeysWithValues: KMSOperation.allCases.map { ($0.rawValue, $0) })
        for row in Self.rows {
            guard let operation = names[row.operation] else { continue }
            for state in KeyState.allCases {
                let expected: Outcome = operation.keyStateError(state).map(Outcome.fails) ?? .ok
                #expect(expected == row.expected[state], "\(row.operation) \(state.rawValue)")
            }
        }
    }
}

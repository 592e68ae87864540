import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Testing

/// Key states, wrong keys, wrong contexts and rotation against a real kmsd over mTLS.
@Suite("kmsd: key states, wrong keys and contexts, rotation over RPC", .timeLimit(.minutes(10)))
struct KMSKeyStateTests {
    @Test("disable, enable, schedule and cancel deletion change what Encrypt and Decrypt may do, at once")
    func keyStates() async throws {
        try await withWorkspace { workspace in
            let system = try await KMSDevSystem.start(in: workspace)
            try await system.withClient(as: "admin") { admin in
                let key = try await kmsCreateKey(admin, description: "key states")
                let plaintext = Data("state machine".utf8)
                let encrypt = Keylake_Kms_V1_EncryptRequest.make { $0.keyID = key.keyID; $0.plaintext = plaintext }
                let blob = try await admin.encrypt(encrypt, options: .kmsTest).ciphertextBlob
                let decrypt = Keylake_Kms_V1_DecryptRequest.make { $0.ciphertextBlob = blob }

                _ = try await admin.disableKey(.make { $0.keyID = key.keyID }, options: .kmsTest)
                #expect(try await Self.state(admin, key.keyID) == .disabled)
                try await expectKMSError(.failedPrecondition, "DisabledException", "Encrypt on a disabled key") {
                    try await admin.encrypt(encrypt, options: .kmsTest)
                }
                try await expectKMSError(.failedPrecondition, "DisabledException", "Decrypt on a disabled key") {
                    try await admin.decrypt(decrypt, options: .kmsTest)
                }
                try await expectKMSError(.failedPrecondition, "DisabledException", "GenerateDataKey on a disabled key") {
                    try await admin.generateDataKey(.make { $0.keyID = key.keyID; $0.keySpec = "AES_128" }, options: .kmsTest)
                }

                _ = try await admin.enableKey(.make { $0.keyID = key.keyID }, options: .kmsTest)
                #expect(try await Self.state(admin, key.keyID) == .enabled)
                let again = try await admin.encrypt(encrypt, options: .kmsTest)
                #expect(try await admin.decrypt(.make { $0.ciphertextBlob = again.ciphertextBlob }, options: .kmsTest).plaintext == plaintext)
                #expect(try await admin.decrypt(decrypt, options: .kmsTest).plaintext == plaintext)

                try await expectKMSError(.failedPrecondition, "KMSInvalidStateException", "CancelKeyDeletion of an enabled key") {
                    try await admin.cancelKeyDeletion(.make { $0.keyID = key.keyID }, options: .kmsTest)
                }
                let schedule = try await admin.scheduleKeyDeletion(
                    .make { $0.keyID = key.keyID; $0.pendingWindowInDays = 7 }, options: .kmsTest)
                #expect(schedule.keyState == .pendingDeletion)
                #expect(schedule.pendingWindowInDays == 7)
                #expect(schedule.keyID == key.arn)
                let sevenDays = Int64(Date().timeIntervalSince1970) + 7 * 24 * 3600
                #expect(abs(schedule.deletionDate - sevenDays) < 600, "deletion date \(schedule.deletionDate), expected about \(sevenDays)")
                let pending = try await admin.describeKey(.make { $0.keyID = key.keyID }, options: .kmsTest).keyMetadata
                #expect(pending.keyState == .pendingDeletion)
                #expect(pending.deletionDate == schedule.deletionDate)
                try await expectKMSError(.failedPrecondition, "KMSInvalidStateException", "Encrypt while pending deletion") {
                    try await admin.encrypt(encrypt, options: .kmsTest)
                }
                try await expectKMSError(.failedPrecondition, "KMSInvalidStateException", "Decrypt while pending deletion") {
                    try await admin.decrypt(decrypt, options: .kmsTest)
                }
                try await expectKMSError(.failedPrecondition, "KMSInvalidStateException", "EnableKey while pending deletion") {
                    try await admin.enableKey(.make { $0.keyID = key.keyID }, options: .kmsTest)
                }
                try await expectKMSError(.failedPrecondition, "KMSInvalidStateException", "ScheduleKeyDeletion twice") {
                    try await admin.scheduleKeyDeletion(.make { $0.keyID = key.keyID; $0.pendingWindowInDays = 30 }, options: .kmsTest)
                }

                let cancelled = try await admin.cancelKeyDeletion(.make { $0.keyID = key.keyID }, options: .kmsTest)
                #expect(cancelled.keyID == key.arn)
                let afterCancel = try await admin.describeKey(.make { $0.keyID = key.keyID }, options: .kmsTest).keyMetadata
                #expect(afterCancel.keyState == .disabled, "CancelKeyDeletion must leave the key Disabled")
                #expect(afterCancel.deletionDate == 0)
                try await expectKMSError(.failedPrecondition, "DisabledException", "Encrypt after CancelKeyDeletion") {
                    try await admin.encrypt(encrypt, options: .kmsTest)
                }
                _ = try await admin.enableKey(.make { $0.keyID = key.keyID }, options: .kmsTest)
                #expect(try await admin.decrypt(decrypt, options: .kmsTest).plaintext == plaintext)

                let events = try await kmsLookupAllEvents(admin)
                let names = Set(events.map(\.eventName))
                for name in ["DisableKey", "EnableKey", "ScheduleKeyDeletion", "CancelKeyDeletion"] {
                    #expect(names.contains(name), "no \(name) event")
                }
                #expect(events.contains { $0.eventName == "Encrypt" && $0.errorCode == "DisabledException" })
                #expect(events.contains { $0.eventName == "Encrypt" && $0.errorCode == "KMSInvalidStateException" })
                try await expectAuditChainValid(admin)
            }
            #expect(await system.stop() == 0, "\(system.devUp.transcript)")
        }
    }

    @Test("a KeyId naming another key is IncorrectKeyException; a wrong or missing context is InvalidCiphertextException")
    func wrongKeyAndContext() async throws {
        try await withWorkspace { workspace in
            let system = try await KMSDevSystem.start(in: workspace)
            try await system.withClient(as: "admin") { admin in
                let first = try await kmsCreateKey(admin, description: "first")
                let second = try await kmsCreateKey(admin, description: "second")
                let context = ["tenant": "a", "record": "42"]
                let plaintext = Data((0..<200).map { UInt8($0) })
                let blob = try await admin.encrypt(
                    .make { $0.keyID = first.keyID; $0.plaintext = plaintext; $0.encryptionContext = context }, options: .kmsTest
                ).ciphertextBlob

                // The right key, by id, ARN and alias: fine.
                _ = try await admin.createAlias(.make { $0.aliasName = "alias/e2e-first"; $0.targetKeyID = first.keyID }, options: .kmsTest)
                for keyID in [first.keyID, first.arn, "alias/e2e-first"] {
                    let opened = try await admin.decrypt(
                        .make { $0.ciphertextBlob = blob; $0.encryptionContext = context; $0.keyID = keyID }, options: .kmsTest)
                    #expect(opened.plaintext == plaintext, "KeyId \(keyID)")
                    #expect(opened.keyID == first.arn)
                }
                // Another existing key: IncorrectKeyException.
                for keyID in [second.keyID, second.arn] {
                    try await expectKMSError(.invalidArgument, "IncorrectKeyException", "Decrypt naming \(keyID)") {
                        try await admin.decrypt(
                            .make { $0.ciphertextBlob = blob; $0.encryptionContext = context; $0.keyID = keyID }, options: .kmsTest)
                    }
                }
                // Wrong, partial, extra or missing context: InvalidCiphertextException.
                let wrongContexts: [[String: String]] = [
                    ["tenant": "b", "record": "42"], ["tenant": "a"], ["tenant": "a", "record": "42", "extra": "x"], [:],
                    ["Tenant": "a", "record": "42"],
                ]
                for wrong in wrongContexts {
                    try await expectKMSError(.invalidArgument, "InvalidCiphertextException", "Decrypt with context \(wrong)") {
                        try await admin.decrypt(.make { $0.ciphertextBlob = blob; $0.encryptionContext = wrong }, options: .kmsTest)
                    }
                }
                // ReEncrypt checks the source context the same way.
                try await expectKMSError(.invalidArgument, "InvalidCiphertextException", "ReEncrypt with a wrong source context") {
                    try await admin.reEncrypt(
                        .make { $0.ciphertextBlob = blob; $0.destinationKeyID = second.keyID; $0.sourceEncryptionContext = ["tenant": "b"] },
                        options: .kmsTest)
                }
                let moved = try await admin.reEncrypt(
                    .make {
                        $0.ciphertextBlob = blob; $0.sourceEncryptionContext = context; $0.destinationKeyID = second.keyID
                        $0.destinationEncryptionContext = ["moved": "yes"]
                    }, options: .kmsTest)
                #expect(moved.sourceKeyID == first.arn)
                #expect(moved.keyID == second.arn)
                let reopened = try await admin.decrypt(
                    .make { $0.ciphertextBlob = moved.ciphertextBlob; $0.encryptionContext = ["moved": "yes"] }, options: .kmsTest)
                #expect(reopened.plaintext == plaintext)
                #expect(reopened.keyID == second.arn)
                try await expectAuditChainValid(admin)
            }
            #expect(await system.stop() == 0, "\(system.devUp.transcript)")
        }
    }

    @Test("on-demand rotation: new material encrypts, every older ciphertext still decrypts")
    func rotation() async throws {
        try await withWorkspace { workspace in
            let system = try await KMSDevSystem.start(in: workspace)
            try await system.withClient(as: "admin") { admin in
                let key = try await kmsCreateKey(admin, description: "rotation")
                #expect(key.currentKeyMaterialID == "1")
                var blobs: [(plaintext: Data, blob: Data, context: [String: String])] = []
                for version in 1...3 {
                    for index in 0..<3 {
                        let plaintext = Data("version \(version) message \(index)".utf8)
                        let context = ["version": "\(version)", "index": "\(index)"]
                        let blob = try await admin.encrypt(
                            .make { $0.keyID = key.keyID; $0.plaintext = plaintext; $0.encryptionContext = context }, options: .kmsTest
                        ).ciphertextBlob
                        blobs.append((plaintext, blob, context))
                    }
                    let dataKey = try await admin.generateDataKey(.make { $0.keyID = key.keyID; $0.keySpec = "AES_256" }, options: .kmsTest)
                    blobs.append((dataKey.plaintext, dataKey.ciphertextBlob, [:]))
                    if version < 3 {
                        let rotated = try await admin.rotateKeyOnDemand(.make { $0.keyID = key.keyID }, options: .kmsTest)
                        #expect(rotated.keyID == key.arn)
                        let current = try await admin.describeKey(.make { $0.keyID = key.keyID }, options: .kmsTest).keyMetadata
                        #expect(current.currentKeyMaterialID == "\(version + 1)")
                    }
                }
                // Blobs made under different material differ in their material version field (bytes 17..<21).
                let versions = Set(blobs.map { $0.blob.count > 21 ? Array(Array($0.blob)[17..<21]) : [] })
                #expect(versions.count == 3, "expected blobs under three material versions, got \(versions)")
                for (plaintext, blob, context) in blobs {
                    let opened = try await admin.decrypt(.make { $0.ciphertextBlob = blob; $0.encryptionContext = context }, options: .kmsTest)
                    #expect(opened.plaintext == plaintext)
                }
                let rotations = try await admin.listKeyRotations(.make { $0.keyID = key.keyID }, options: .kmsTest)
                #expect(rotations.rotations.count == 2)
                #expect(rotations.rotations.allSatisfy { $0.rotationType == "ON_DEMAND" }, "\(rotations.rotations)")
                #expect(rotations.rotations.map(\.keyMaterialID) == ["2", "3"], "\(rotations.rotations)")

                _ = try await admin.enableKeyRotation(.make { $0.keyID = key.keyID; $0.rotationPeriodInDays = 90 }, options: .kmsTest)
                let status = try await admin.getKeyRotationStatus(.make { $0.keyID = key.keyID }, options: .kmsTest)
                #expect(status.keyRotationEnabled)
                #expect(status.rotationPeriodInDays == 90)
                // Old ciphertexts still open after the key was disabled and enabled again.
                _ = try await admin.disableKey(.make { $0.keyID = key.keyID }, options: .kmsTest)
                _ = try await admin.enableKey(.make { $0.keyID = key.keyID }, options: .kmsTest)
                let first = blobs[0]
                #expect(
                    try await admin.decrypt(.make { $0.ciphertextBlob = first.blob; $0.encryptionContext = first.context }, options: .kmsTest)
                        .plaintext == first.plaintext)
                try await expectAuditChainValid(admin)
            }
            #expect(await system.stop() == 0, "\(system.devUp.transcript)")
        }
    }

    static func state(_ client: KMSClient, _ keyID: String) async throws -> Keylake_Kms_V1_KeyState {
        try await client.describeKey(.make { $0.keyID = keyID }, options: .kmsTest).keyMetadata.keyState
    }
}

import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Testing

/// Hostile input on every RPC (issue 3, "Tests that must exist"): each request gets the right
/// gRPC code and AWS error name, is audited with that error, and kmsd keeps serving.
@Suite("kmsd: bad input on every RPC", .timeLimit(.minutes(10)))
struct KMSBadInputTests {
    typealias P = KMSPrincipals

    /// What the hostile requests are aimed at.
    struct Targets: Sendable {
        var keyID: String
        var keyARN: String
        /// A key whose policy the policy rows try to replace.
        var policyKeyID: String
        var blob: [UInt8]
        var context: [String: String]
    }

    /// The clients a row may use.
    struct Clients: Sendable {
        var admin: KMSClient
        var fhird: KMSClient
    }

    struct Row: Sendable {
        var name: String
        var code: RPCError.Code
        var errorName: String
        /// A known bug that makes the answer differ from `code`/`errorName` (see the report).
        var answerBug: String? = nil
        /// A known bug that keeps the call's audit event from recording `errorName`.
        var auditBug: String? = nil
        var call: @Sendable (Clients, Targets, Metadata) async throws -> Void
    }

    static let invalid = RPCError.Code.invalidArgument
    static let notFound = RPCError.Code.notFound
    static let otherKeyUUID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
    static let unknownGrantID = String(repeating: "0", count: 64)

    // MARK: - The table

    static func rows() -> [Row] {
        var rows: [Row] = []
        func row(
            _ name: String, _ code: RPCError.Code, _ errorName: String, answerBug: String? = nil, auditBug: String? = nil,
            _ call: @escaping @Sendable (Clients, Targets, Metadata) async throws -> Void
        ) {
            rows.append(Row(name: name, code: code, errorName: errorName, answerBug: answerBug, auditBug: auditBug, call: call))
        }

        // Key ids, on every RPC that takes one.
        let badKeyIDs: [(String, String, RPCError.Code, String)] = [
            ("empty key id", "", Self.invalid, "ValidationException"),
            ("garbage key id", "garbage!", Self.notFound, "NotFoundException"),
            ("too long key id (2,049)", String(repeating: "k", count: 2049), Self.invalid, "ValidationException"),
            ("huge key id (1 MiB)", String(repeating: "k", count: 1 << 20), Self.invalid, "ValidationException"),
            ("unknown key uuid", Self.otherKeyUUID, Self.notFound, "NotFoundException"),
            ("ARN with five fields", "arn:aws:kms:us-east-1:111122223333", Self.notFound, "NotFoundException"),
            ("ARN of another account", "arn:aws:kms:us-east-1:444455556666:key/\(Self.otherKeyUUID)", Self.notFound, "NotFoundException"),
            ("ARN of another region", "arn:aws:kms:eu-west-1:111122223333:key/\(Self.otherKeyUUID)", Self.notFound, "NotFoundException"),
            ("ARN of another service", "arn:aws:s3:us-east-1:111122223333:key/\(Self.otherKeyUUID)", Self.notFound, "NotFoundException"),
            ("ARN with a non-uuid key", "arn:aws:kms:us-east-1:111122223333:key/not-a-uuid", Self.notFound, "NotFoundException"),
            ("unknown alias", "alias/does-not-exist", Self.notFound, "NotFoundException"),
            ("control characters", "\u{0}\u{202E}\u{7}../../etc/passwd", Self.notFound, "NotFoundException"),
        ]
        for (label, keyID, code, errorName) in badKeyIDs {
            row("DescribeKey: \(label)", code, errorName) { c, _, m in
                _ = try await c.admin.describeKey(.make { $0.keyID = keyID }, metadata: m, options: .kmsTest)
            }
            row("Encrypt: \(label)", code, errorName) { c, _, m in
                _ = try await c.admin.encrypt(.make { $0.keyID = keyID; $0.plaintext = Data("x".utf8) }, metadata: m, options: .kmsTest)
            }
            row("GenerateDataKey: \(label)", code, errorName) { c, _, m in
                _ = try await c.admin.generateDataKey(.make { $0.keyID = keyID; $0.keySpec = "AES_256" }, metadata: m, options: .kmsTest)
            }
        }
        let emptyKeyCalls: [(String, @Sendable (KMSClient, Metadata) async throws -> Void)] = [
            ("EnableKey", { c, m in _ = try await c.enableKey(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("DisableKey", { c, m in _ = try await c.disableKey(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("ScheduleKeyDeletion", { c, m in _ = try await c.scheduleKeyDeletion(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("CancelKeyDeletion", { c, m in _ = try await c.cancelKeyDeletion(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("UpdateKeyDescription", { c, m in _ = try await c.updateKeyDescription(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("EnableKeyRotation", { c, m in _ = try await c.enableKeyRotation(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("DisableKeyRotation", { c, m in _ = try await c.disableKeyRotation(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("GetKeyRotationStatus", { c, m in _ = try await c.getKeyRotationStatus(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("RotateKeyOnDemand", { c, m in _ = try await c.rotateKeyOnDemand(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("ListKeyRotations", { c, m in _ = try await c.listKeyRotations(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("TagResource", { c, m in
                _ = try await c.tagResource(.make { $0.keyID = ""; $0.tags = [.make { $0.tagKey = "k"; $0.tagValue = "v" }] }, metadata: m, options: .kmsTest)
            }),
            ("UntagResource", { c, m in _ = try await c.untagResource(.make { $0.keyID = ""; $0.tagKeys = ["k"] }, metadata: m, options: .kmsTest) }),
            ("ListResourceTags", { c, m in _ = try await c.listResourceTags(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("PutKeyPolicy", { c, m in
                _ = try await c.putKeyPolicy(.make { $0.keyID = ""; $0.policy = KMSPolicies.document(KMSPolicies.rootStatement) }, metadata: m, options: .kmsTest)
            }),
            ("GetKeyPolicy", { c, m in _ = try await c.getKeyPolicy(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("ListKeyPolicies", { c, m in _ = try await c.listKeyPolicies(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("ListGrants", { c, m in _ = try await c.listGrants(.make { $0.keyID = "" }, metadata: m, options: .kmsTest) }),
            ("CreateGrant", { c, m in
                _ = try await c.createGrant(.make { $0.keyID = ""; $0.granteePrincipal = P.app; $0.operations = ["Decrypt"] }, metadata: m, options: .kmsTest)
            }),
            ("RevokeGrant", { c, m in _ = try await c.revokeGrant(.make { $0.keyID = ""; $0.grantID = Self.unknownGrantID }, metadata: m, options: .kmsTest) }),
            ("CreateAlias", { c, m in _ = try await c.createAlias(.make { $0.aliasName = "alias/e2e-bad"; $0.targetKeyID = "" }, metadata: m, options: .kmsTest) }),
        ]
        for (operation, call) in emptyKeyCalls {
            row("\(operation): empty key id", Self.invalid, "ValidationException") { c, _, m in try await call(c.admin, m) }
        }
        row("ReEncrypt: empty destination key id", Self.invalid, "ValidationException") { c, t, m in
            _ = try await c.admin.reEncrypt(
                .make { $0.ciphertextBlob = Data(t.blob); $0.sourceEncryptionContext = t.context; $0.destinationKeyID = "" },
                metadata: m, options: .kmsTest)
        }
        row("Decrypt: KeyId that is no key", Self.notFound, "NotFoundException") { c, t, m in
            _ = try await c.admin.decrypt(
                .make { $0.ciphertextBlob = Data(t.blob); $0.encryptionContext = t.context; $0.keyID = "garbage!" }, metadata: m, options: .kmsTest)
        }

        // Plaintext and data key sizes.
        row("Encrypt: plaintext of 4,097 bytes", Self.invalid, "ValidationException") { c, t, m in
            _ = try await c.admin.encrypt(.make { $0.keyID = t.keyID; $0.plaintext = Data(repeating: 7, count: 4097) }, metadata: m, options: .kmsTest)
        }
        row("Encrypt: plaintext of 1 MiB", Self.invalid, "ValidationException") { c, t, m in
            _ = try await c.admin.encrypt(.make { $0.keyID = t.keyID; $0.plaintext = Data(repeating: 7, count: 1 << 20) }, metadata: m, options: .kmsTest)
        }
        row("Encrypt: empty plaintext", Self.invalid, "ValidationException") { c, t, m in
            _ = try await c.admin.encrypt(.make { $0.keyID = t.keyID }, metadata: m, options: .kmsTest)
        }
        for bytes: Int32 in [0, 1025, -1, .max, .min] {
            row("GenerateDataKey: NumberOfBytes \(bytes)", Self.invalid, "ValidationException") { c, t, m in
                _ = try await c.admin.generateDataKey(.make { $0.keyID = t.keyID; $0.numberOfBytes = bytes }, metadata: m, options: .kmsTest)
            }
            row("GenerateDataKeyWithoutPlaintext: NumberOfBytes \(bytes)", Self.invalid, "ValidationException") { c, t, m in
                _ = try await c.admin.generateDataKeyWithoutPlaintext(.make { $0.keyID = t.keyID; $0.numberOfBytes = bytes }, metadata: m, options: .kmsTest)
            }
            row("GenerateRandom: NumberOfBytes \(bytes)", Self.invalid, "ValidationException") { c, _, m in
                _ = try await c.admin.generateRandom(.make { $0.numberOfBytes = bytes }, metadata: m, options: .kmsTest)
            }
        }
        row("GenerateDataKey: KeySpec and NumberOfBytes", Self.invalid, "ValidationException") { c, t, m in
            _ = try await c.admin.generateDataKey(.make { $0.keyID = t.keyID; $0.keySpec = "AES_256"; $0.numberOfBytes = 32 }, metadata: m, options: .kmsTest)
        }
        row("GenerateDataKey: KeySpec AES_512", Self.invalid, "ValidationException") { c, t, m in
            _ = try await c.admin.generateDataKey(.make { $0.keyID = t.keyID; $0.keySpec = "AES_512" }, metadata: m, options: .kmsTest)
        }

        // Encryption contexts and grant tokens.
        let contexts: [(String, [String: String])] = [
            ("encryption context of 8,193 bytes", ["k": String(repeating: "v", count: 8192)]),
            ("encryption context of 1 MiB", ["k": String(repeating: "v", count: 1 << 20)]),
            ("encryption context of 2,000 pairs", Dictionary(uniqueKeysWithValues: (0..<2000).map { ("key-\($0)", "value-\($0)") })),
            ("encryption context with an empty key", ["": "v"]),
        ]
        for (label, context) in contexts {
            row("Encrypt: \(label)", Self.invalid, "ValidationException") { c, t, m in
                _ = try await c.admin.encrypt(
                    .make { $0.keyID = t.keyID; $0.plaintext = Data("x".utf8); $0.encryptionContext = context }, metadata: m, options: .kmsTest)
            }
            row("Decrypt: \(label)", Self.invalid, "ValidationException") { c, t, m in
                _ = try await c.admin.decrypt(.make { $0.ciphertextBlob = Data(t.blob); $0.encryptionContext = context }, metadata: m, options: .kmsTest)
            }
            row("CreateGrant constraint: \(label)", Self.invalid, "ValidationException") { c, t, m in
                _ = try await c.admin.createGrant(
                    .make {
                        $0.keyID = t.keyID; $0.granteePrincipal = P.app; $0.operations = ["Decrypt"]
                        $0.constraints = .make { $0.encryptionContextSubset = context }
                    }, metadata: m, options: .kmsTest)
            }
        }
        let tokens: [(String, [String], String)] = [
            ("empty grant token", [""], "InvalidGrantTokenException"),
            ("grant token of 8,193 characters", [String(repeating: "t", count: 8193)], "InvalidGrantTokenException"),
            ("11 grant tokens", Array(repeating: "kgt1.x", count: 11), "ValidationException"),
        ]
        for (label, grantTokens, errorName) in tokens {
            row("Encrypt: \(label)", Self.invalid, errorName) { c, t, m in
                _ = try await c.admin.encrypt(
                    .make { $0.keyID = t.keyID; $0.plaintext = Data("x".utf8); $0.grantTokens = grantTokens }, metadata: m, options: .kmsTest)
            }
            row("CreateGrant: \(label)", Self.invalid, errorName) { c, t, m in
                _ = try await c.admin.createGrant(
                    .make { $0.keyID = t.keyID; $0.granteePrincipal = P.app; $0.operations = ["Decrypt"]; $0.grantTokens = grantTokens },
                    metadata: m, options: .kmsTest)
            }
        }

        // Ciphertext blobs.
        let blobs: [(String, @Sendable ([UInt8]) -> [UInt8])] = [
            ("empty blob", { _ in [] }),
            ("one byte", { _ in [1] }),
            ("garbage (unknown format version)", { blob in [0xFF] + (1..<blob.count).map { UInt8(truncatingIfNeeded: $0 &* 31) } }),
            ("truncated to the header", { blob in Array(blob.prefix(49)) }),
            ("truncated by one byte", { blob in Array(blob.dropLast()) }),
            ("one byte appended", { blob in blob + [0] }),
            ("format version 2", { blob in Self.flipping(blob, at: 0, to: 2) }),
            ("material version 0", { blob in Self.replacing(blob, 17..<21, with: [0, 0, 0, 0]) }),
            ("material version 2 (never existed)", { blob in Self.replacing(blob, 17..<21, with: [0, 0, 0, 2]) }),
            ("bit flipped in the key id", { blob in Self.flippingBit(blob, at: 5) }),
            ("bit flipped in the nonce", { blob in Self.flippingBit(blob, at: 21) }),
            ("bit flipped in the salt", { blob in Self.flippingBit(blob, at: 33) }),
            ("bit flipped in the ciphertext", { blob in Self.flippingBit(blob, at: 49) }),
            ("bit flipped in the tag", { blob in Self.flippingBit(blob, at: blob.count - 1) }),
            ("longer than any blob", { blob in Array(repeating: 1, count: 49 + 4096 + 16 + 1) }),
            ("1 MiB", { _ in Array(repeating: 1, count: 1 << 20) }),
        ]
        for (label, mangle) in blobs {
            row("Decrypt: \(label)", Self.invalid, "InvalidCiphertextException") { c, t, m in
                _ = try await c.admin.decrypt(
                    .make { $0.ciphertextBlob = Data(mangle(t.blob)); $0.encryptionContext = t.context }, metadata: m, options: .kmsTest)
            }
            row("ReEncrypt: \(label)", Self.invalid, "InvalidCiphertextException") { c, t, m in
                _ = try await c.admin.reEncrypt(
                    .make { $0.ciphertextBlob = Data(mangle(t.blob)); $0.sourceEncryptionContext = t.context; $0.destinationKeyID = t.keyID },
                    metadata: m, options: .kmsTest)
            }
        }

        // Key policies.
        let bigPolicy = KMSPolicies.document(
            KMSPolicies.rootStatement,
            #"{"Sid":"\#(String(repeating: "p", count: 33 * 1024))","Effect":"Allow","Principal":{"AWS":"\#(P.app)"},"Action":"kms:Decrypt","Resource":"*"}"#)
        let policies: [(String, String)] = [
            ("not JSON", "{this is not json"),
            ("empty document", ""),
            ("JSON array", "[]"),
            ("no Statement", #"{"Version":"2012-10-17"}"#),
            ("unknown Version", #"{"Version":"2099-01-01","Statement":[\#(KMSPolicies.rootStatement)]}"#),
            ("NotAction", KMSPolicies.document(#"{"Effect":"Allow","Principal":"*","NotAction":"kms:Decrypt","Resource":"*"}"#)),
            ("Effect Maybe", KMSPolicies.document(#"{"Effect":"Maybe","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#)),
            ("unknown condition operator", KMSPolicies.document(
                #"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringSortOf":{"kms:ViaService":"x"}}}"#)),
            ("action without service", KMSPolicies.document(#"{"Effect":"Allow","Principal":"*","Action":"Decrypt","Resource":"*"}"#)),
            ("duplicate Sid", KMSPolicies.document(KMSPolicies.rootStatement, KMSPolicies.rootStatement)),
            ("nested 10,000 deep", String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)),
            ("over 32 KiB", bigPolicy),
            ("locks the caller out", KMSPolicies.document(KMSPolicies.seedStatement)),
        ]
        for (label, policy) in policies {
            row("PutKeyPolicy: \(label)", Self.invalid, "MalformedPolicyDocumentException") { c, t, m in
                _ = try await c.admin.putKeyPolicy(.make { $0.keyID = t.policyKeyID; $0.policyName = "default"; $0.policy = policy }, metadata: m, options: .kmsTest)
            }
        }
        row("CreateKey: malformed policy", Self.invalid, "MalformedPolicyDocumentException") { c, _, m in
            _ = try await c.admin.createKey(.make { $0.policy = "{this is not json" }, metadata: m, options: .kmsTest)
        }
        row("CreateKey: policy over 32 KiB", Self.invalid, "MalformedPolicyDocumentException") { c, _, m in
            _ = try await c.admin.createKey(.make { $0.policy = bigPolicy }, metadata: m, options: .kmsTest)
        }
        row("PutKeyPolicy: policy name other than default", Self.notFound, "NotFoundException") { c, t, m in
            _ = try await c.admin.putKeyPolicy(
                .make { $0.keyID = t.policyKeyID; $0.policyName = "other"; $0.policy = KMSPolicies.document(KMSPolicies.rootStatement) },
                metadata: m, options: .kmsTest)
        }
        row("GetKeyPolicy: policy name other than default", Self.notFound, "NotFoundException") { c, t, m in
            _ = try await c.admin.getKeyPolicy(.make { $0.keyID = t.policyKeyID; $0.policyName = "other" }, metadata: m, options: .kmsTest)
        }

        // CreateKey fields.
        row("CreateKey: KeySpec RSA_2048", .unimplemented, "UnsupportedOperationException") { c, _, m in
            _ = try await c.admin.createKey(.make { $0.keySpec = "RSA_2048" }, metadata: m, options: .kmsTest)
        }
        row("CreateKey: KeyUsage SIGN_VERIFY", .unimplemented, "UnsupportedOperationException") { c, _, m in
            _ = try await c.admin.createKey(.make { $0.keyUsage = "SIGN_VERIFY" }, metadata: m, options: .kmsTest)
        }
        row("CreateKey: description of 8,193 characters", Self.invalid, "ValidationException") { c, _, m in
            _ = try await c.admin.createKey(.make { $0.description_p = String(repeating: "d", count: 8193) }, metadata: m, options: .kmsTest)
        }
        row("CreateKey: tag key aws:reserved", Self.invalid, "TagException") { c, _, m in
            _ = try await c.admin.createKey(.make { $0.tags = [.make { $0.tagKey = "aws:reserved"; $0.tagValue = "v" }] }, metadata: m, options: .kmsTest)
        }
        row("UpdateKeyDescription: 8,193 characters", Self.invalid, "ValidationException") { c, t, m in
            _ = try await c.admin.updateKeyDescription(
                .make { $0.keyID = t.keyID; $0.description_p = String(repeating: "d", count: 8193) }, metadata: m, options: .kmsTest)
        }

        // Grants.
        let grants: [(String, String, [String], String)] = [
            ("unknown operation", P.app, ["Decrypt", "LaunchMissiles"], "ValidationException"),
            ("no operations", P.app, [], "ValidationException"),
            ("operation of another key type", P.app, ["Sign"], "ValidationException"),
            ("empty grantee", "", ["Decrypt"], "ValidationException"),
            ("grantee with spaces", "arn:aws:iam::111122223333:role/a b", ["Decrypt"], "ValidationException"),
            ("grantee of 300 characters", "arn:aws:iam::111122223333:role/" + String(repeating: "r", count: 270), ["Decrypt"], "ValidationException"),
        ]
        for (label, grantee, operations, errorName) in grants {
            row("CreateGrant: \(label)", Self.invalid, errorName) { c, t, m in
                _ = try await c.admin.createGrant(
                    .make { $0.keyID = t.keyID; $0.granteePrincipal = grantee; $0.operations = operations }, metadata: m, options: .kmsTest)
            }
        }
        row("CreateGrant: constraints with DescribeKey", Self.invalid, "ValidationException") { c, t, m in
            _ = try await c.admin.createGrant(
                .make {
                    $0.keyID = t.keyID; $0.granteePrincipal = P.app; $0.operations = ["DescribeKey"]
                    $0.constraints = .make { $0.encryptionContextEquals = ["a": "b"] }
                }, metadata: m, options: .kmsTest)
        }
        row("CreateGrant: name with spaces", Self.invalid, "ValidationException") { c, t, m in
            _ = try await c.admin.createGrant(
                .make { $0.keyID = t.keyID; $0.granteePrincipal = P.app; $0.operations = ["Decrypt"]; $0.name = "not a name!" }, metadata: m, options: .kmsTest)
        }
        row("RetireGrant: token without the service's prefix", Self.invalid, "InvalidGrantTokenException") { c, _, m in
            _ = try await c.admin.retireGrant(.make { $0.grantToken = "bogus-token" }, metadata: m, options: .kmsTest)
        }
        row("RetireGrant: unknown token", Self.notFound, "NotFoundException") { c, _, m in
            _ = try await c.admin.retireGrant(.make { $0.grantToken = "kgt1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, metadata: m, options: .kmsTest)
        }
        row("RetireGrant: token of 8,193 characters", Self.invalid, "InvalidGrantTokenException") { c, _, m in
            _ = try await c.admin.retireGrant(.make { $0.grantToken = "kgt1." + String(repeating: "A", count: 8188) }, metadata: m, options: .kmsTest)
        }
        row("RetireGrant: neither token nor key and grant id", Self.invalid, "ValidationException") { c, _, m in
            _ = try await c.admin.retireGrant(.make { _ in }, metadata: m, options: .kmsTest)
        }
        row("RetireGrant: malformed grant id", Self.invalid, "InvalidGrantIdException") { c, t, m in
            _ = try await c.admin.retireGrant(.make { $0.keyID = t.keyID; $0.grantID = "xyz" }, metadata: m, options: .kmsTest)
        }
        for (label, grantID) in [("empty grant id", ""), ("malformed grant id", "zz"), ("grant id of 64 non-hex", String(repeating: "z", count: 64))] {
            row("RevokeGrant: \(label)", Self.invalid, "InvalidGrantIdException") { c, t, m in
                _ = try await c.admin.revokeGrant(.make { $0.keyID = t.keyID; $0.grantID = grantID }, metadata: m, options: .kmsTest)
            }
        }
        row("RevokeGrant: unknown grant id", Self.notFound, "NotFoundException") { c, t, m in
            _ = try await c.admin.revokeGrant(.make { $0.keyID = t.keyID; $0.grantID = Self.unknownGrantID }, metadata: m, options: .kmsTest)
        }
        row("ListGrants: malformed grant id", Self.invalid, "InvalidGrantIdException") { c, t, m in
            _ = try await c.admin.listGrants(.make { $0.keyID = t.keyID; $0.grantID = "xyz" }, metadata: m, options: .kmsTest)
        }
        row("ListRetirableGrants: empty principal", Self.invalid, "ValidationException") { c, _, m in
            _ = try await c.admin.listRetirableGrants(.make { $0.retiringPrincipal = "" }, metadata: m, options: .kmsTest)
        }

        // Paging.
        for limit: Int32 in [-1, 1001, .max] {
            row("ListKeys: Limit \(limit)", Self.invalid, "ValidationException") { c, _, m in
                _ = try await c.admin.listKeys(.make { $0.limit = limit }, metadata: m, options: .kmsTest)
            }
            row("ListGrants: Limit \(limit)", Self.invalid, "ValidationException") { c, t, m in
                _ = try await c.admin.listGrants(.make { $0.keyID = t.keyID; $0.limit = limit }, metadata: m, options: .kmsTest)
            }
            row("LookupEvents: MaxResults \(limit)", Self.invalid, "ValidationException") { c, _, m in
                _ = try await c.admin.lookupEvents(.make { $0.maxResults = limit }, metadata: m, options: .kmsTest)
            }
        }
        row("ListKeys: foreign marker", Self.invalid, "InvalidMarkerException") { c, _, m in
            _ = try await c.admin.listKeys(.make { $0.marker = "not-a-marker" }, metadata: m, options: .kmsTest)
        }
        row("ListAliases: foreign marker", Self.invalid, "InvalidMarkerException") { c, _, m in
            _ = try await c.admin.listAliases(.make { $0.marker = "not-a-marker" }, metadata: m, options: .kmsTest)
        }
        row("ListGrants: foreign marker", Self.invalid, "InvalidMarkerException") { c, t, m in
            _ = try await c.admin.listGrants(.make { $0.keyID = t.keyID; $0.marker = "not-a-marker" }, metadata: m, options: .kmsTest)
        }
        row("ListKeyRotations: foreign marker", Self.invalid, "InvalidMarkerException") { c, t, m in
            _ = try await c.admin.listKeyRotations(.make { $0.keyID = t.keyID; $0.marker = "not-a-marker" }, metadata: m, options: .kmsTest)
        }
        for token in ["not-a-token", "-5", "0"] {
            row("LookupEvents: NextToken \(token)", Self.invalid, "InvalidMarkerException") { c, _, m in
                _ = try await c.admin.lookupEvents(.make { $0.nextToken = token }, metadata: m, options: .kmsTest)
            }
        }
        row("LookupEvents: unsupported attribute EventSource", Self.invalid, "ValidationException") { c, _, m in
            _ = try await c.admin.lookupEvents(
                .make { $0.lookupAttributes = [.make { $0.attributeKey = "EventSource"; $0.attributeValue = "kms.amazonaws.com" }] },
                metadata: m, options: .kmsTest)
        }
        row("LookupEvents: ResourceName that is no key", Self.invalid, "ValidationException") { c, _, m in
            _ = try await c.admin.lookupEvents(
                .make { $0.lookupAttributes = [.make { $0.attributeKey = "ResourceName"; $0.attributeValue = "not-a-key" }] },
                metadata: m, options: .kmsTest)
        }

        // Deletion windows, rotation periods, aliases, tags, state.
        for days: Int32 in [6, 31, -7] {
            row("ScheduleKeyDeletion: PendingWindowInDays \(days)", Self.invalid, "ValidationException") { c, t, m in
                _ = try await c.admin.scheduleKeyDeletion(.make { $0.keyID = t.keyID; $0.pendingWindowInDays = days }, metadata: m, options: .kmsTest)
            }
        }
        for days: Int32 in [89, 2561, -1] {
            row("EnableKeyRotation: RotationPeriodInDays \(days)", Self.invalid, "ValidationException") { c, t, m in
                _ = try await c.admin.enableKeyRotation(.make { $0.keyID = t.keyID; $0.rotationPeriodInDays = days }, metadata: m, options: .kmsTest)
            }
        }
        row("CancelKeyDeletion: key not pending deletion", .failedPrecondition, "KMSInvalidStateException") { c, t, m in
            _ = try await c.admin.cancelKeyDeletion(.make { $0.keyID = t.keyID }, metadata: m, options: .kmsTest)
        }
        for alias in ["no-prefix", "alias/", "alias/aws/reserved", "alias/bad name", "alias/" + String(repeating: "a", count: 300)] {
            row("CreateAlias: name \(alias.prefix(40))", Self.invalid, "InvalidAliasNameException") { c, t, m in
                _ = try await c.admin.createAlias(.make { $0.aliasName = alias; $0.targetKeyID = t.keyID }, metadata: m, options: .kmsTest)
            }
        }
        row("CreateAlias: target is an alias", Self.invalid, "ValidationException") { c, _, m in
            _ = try await c.admin.createAlias(.make { $0.aliasName = "alias/e2e-new"; $0.targetKeyID = "alias/e2e-target" }, metadata: m, options: .kmsTest)
        }
        row("CreateAlias: already exists", .alreadyExists, "AlreadyExistsException") { c, t, m in
            _ = try await c.admin.createAlias(.make { $0.aliasName = "alias/e2e-target"; $0.targetKeyID = t.keyID }, metadata: m, options: .kmsTest)
        }
        row("UpdateAlias: unknown alias", Self.notFound, "NotFoundException") { c, t, m in
            _ = try await c.admin.updateAlias(.make { $0.aliasName = "alias/does-not-exist"; $0.targetKeyID = t.keyID }, metadata: m, options: .kmsTest)
        }
        row("DeleteAlias: unknown alias", Self.notFound, "NotFoundException") { c, _, m in
            _ = try await c.admin.deleteAlias(.make { $0.aliasName = "alias/does-not-exist" }, metadata: m, options: .kmsTest)
        }
        row("DeleteAlias: malformed name", Self.invalid, "InvalidAliasNameException") { c, _, m in
            _ = try await c.admin.deleteAlias(.make { $0.aliasName = "../../etc" }, metadata: m, options: .kmsTest)
        }
        let tags: [(String, String, String)] = [
            ("empty tag key", "", "v"), ("tag key aws:x", "aws:x", "v"), ("tag key of 129", String(repeating: "k", count: 129), "v"),
            ("tag value of 257", "k", String(repeating: "v", count: 257)),
        ]
        for (label, tagKey, tagValue) in tags {
            row("TagResource: \(label)", Self.invalid, "TagException") { c, t, m in
                _ = try await c.admin.tagResource(
                    .make { $0.keyID = t.keyID; $0.tags = [.make { $0.tagKey = tagKey; $0.tagValue = tagValue }] }, metadata: m, options: .kmsTest)
            }
        }
        row("TagResource: the same key twice", Self.invalid, "TagException") { c, t, m in
            _ = try await c.admin.tagResource(
                .make {
                    $0.keyID = t.keyID
                    $0.tags = [.make { $0.tagKey = "k"; $0.tagValue = "1" }, .make { $0.tagKey = "k"; $0.tagValue = "2" }]
                }, metadata: m, options: .kmsTest)
        }
        row("TagResource: 51 tags", .resourceExhausted, "LimitExceededException") { c, t, m in
            _ = try await c.admin.tagResource(
                .make { $0.keyID = t.keyID; $0.tags = (0..<51).map { index in .make { $0.tagKey = "k\(index)"; $0.tagValue = "v" } } },
                metadata: m, options: .kmsTest)
        }
        row("UntagResource: empty tag key", Self.invalid, "TagException") { c, t, m in
            _ = try await c.admin.untagResource(.make { $0.keyID = t.keyID; $0.tagKeys = [""] }, metadata: m, options: .kmsTest)
        }

        // On behalf of.
        let onBehalfOf: [(String, String)] = [
            ("not an ARN", "nobody"),
            ("the service itself", P.healthLake),
            ("an ARN of another service", "arn:aws:s3:::bucket"),
            ("a principal of 300 characters", "arn:aws:iam::111122223333:role/" + String(repeating: "r", count: 270)),
        ]
        for (label, principal) in onBehalfOf {
            row("on behalf of \(label)", .permissionDenied, "AccessDeniedException") { c, t, m in
                var metadata = m
                metadata.addString(principal, forKey: KeylakeMetadataKey.onBehalfOf)
                _ = try await c.fhird.describeKey(.make { $0.keyID = t.keyID }, metadata: metadata, options: .kmsTest)
            }
        }
        row("on behalf of, from a peer that is no service", .permissionDenied, "AccessDeniedException") { c, t, m in
            var metadata = m
            metadata.addString(P.app, forKey: KeylakeMetadataKey.onBehalfOf)
            _ = try await c.admin.describeKey(.make { $0.keyID = t.keyID }, metadata: metadata, options: .kmsTest)
        }
        return rows
    }

    // MARK: - The test

    @Test("every hostile request gets its gRPC code and AWS error name, is audited, and kmsd keeps serving")
    func hostileRequests() async throws {
        try await withWorkspace { workspace in
            let system = try await KMSDevSystem.start(in: workspace)
            let rows = Self.rows()
            let kmsdBefore = try #require(system.kmsdPID, "no kmsd below dev up")
            let (targets, requestIDs) = try await system.withClient(as: "admin") { admin in
                try await system.withClient(as: "fhird") { fhird in
                    let clients = Clients(admin: admin, fhird: fhird)
                    let key = try await kmsCreateKey(admin, description: "bad input target")
                    let policyKey = try await kmsCreateKey(admin, description: "bad policy target")
                    _ = try await admin.createAlias(.make { $0.aliasName = "alias/e2e-target"; $0.targetKeyID = key.keyID }, options: .kmsTest)
                    let context = ["purpose": "bad-input"]
                    let blob = try await admin.encrypt(
                        .make { $0.keyID = key.keyID; $0.plaintext = Data("target".utf8); $0.encryptionContext = context }, options: .kmsTest
                    ).ciphertextBlob
                    let targets = Targets(keyID: key.keyID, keyARN: key.arn, policyKeyID: policyKey.keyID, blob: Array(blob), context: context)

                    var requestIDs: [String] = []
                    for (index, row) in rows.enumerated() {
                        let requestID = "bad-input-\(index)"
                        requestIDs.append(requestID)
                        let failure = try await kmsFailure { try await row.call(clients, targets, .kms(requestID: requestID)) }
                        guard let failure else {
                            Issue.record("\(row.name): expected \(row.code) \(row.errorName), but the call succeeded")
                            continue
                        }
                        Self.check(knownBug: row.answerBug) {
                            #expect(
                                failure.code == row.code && failure.name == row.errorName,
                                "\(row.name): expected \(row.code) \(row.errorName), got \(failure)")
                        }
                        #expect(!failure.message.isEmpty, "\(row.name): no error message")
                        #expect(failure.message.count < 4096, "\(row.name): the error message echoes \(failure.message.count) characters")
                    }
                    return (targets, requestIDs)
                }
            }

            // kmsd still serves: the same process, healthy, and normal calls succeed on a new connection.
            #expect(system.kmsdPID == kmsdBefore, "kmsd was restarted or died\n\(system.devUp.transcript)")
            let health = try await workspace.keylake(["health", "--home", system.home, "--target", "kmsd"])
            #expect(health.status == 0, "\(health.transcript)")
            try await system.withClient(as: "admin") { admin in
                let plaintext = Data("still serving".utf8)
                let blob = try await admin.encrypt(.make { $0.keyID = targets.keyID; $0.plaintext = plaintext }, options: .kmsTest).ciphertextBlob
                #expect(try await admin.decrypt(.make { $0.ciphertextBlob = blob }, options: .kmsTest).plaintext == plaintext)
                let original = try await admin.decrypt(
                    .make { $0.ciphertextBlob = Data(targets.blob); $0.encryptionContext = targets.context }, options: .kmsTest)
                #expect(original.plaintext == Data("target".utf8))
                let policy = try await admin.getKeyPolicy(.make { $0.keyID = targets.policyKeyID }, options: .kmsTest).policy
                #expect(policy.contains("kms:*"), "a refused PutKeyPolicy changed the policy: \(policy)")
                let key = try await admin.describeKey(.make { $0.keyID = targets.keyID }, options: .kmsTest).keyMetadata
                #expect(key.keyState == .enabled)
                let grants = try await admin.listGrants(.make { $0.keyID = targets.keyID }, options: .kmsTest)
                #expect(grants.grants.isEmpty, "a refused CreateGrant left a grant")
                let tags = try await admin.listResourceTags(.make { $0.keyID = targets.keyID }, options: .kmsTest)
                #expect(tags.tags.isEmpty, "a refused TagResource left tags")

                // Every refused call is in the audit trail with its error.
                var byRequest: [String: KMSAuditEvent] = [:]
                for event in try await kmsLookupAllEvents(admin) {
                    if let id = event.requestID { byRequest[id] = event }
                }
                for (row, requestID) in zip(rows, requestIDs) {
                    Self.check(knownBug: row.auditBug) {
                        let event = byRequest[requestID]
                        #expect(event != nil, "\(row.name): no audit event for \(requestID)")
                        if let event {
                            #expect(event.errorCode == row.errorName, "\(row.name): \(event)")
                        }
                    }
                }
                try await expectAuditChainValid(admin)
            }
            print("bad input: \(rows.count) hostile requests")
            #expect(await system.stop() == 0, "\(system.devUp.transcript)")
        }
    }

    /// Runs `checks`; under `withKnownIssue` when they are expected to fail because of `knownBug`.
    static func check(knownBug: String?, _ checks: () -> Void) {
        if let knownBug {
            withKnownIssue(Comment(rawValue: knownBug)) { checks() }
        } else {
            checks()
        }
    }

    // MARK: - Blob surgery

    static func flippingBit(_ blob: [UInt8], at index: Int) -> [UInt8] {
        guard blob.indices.contains(index) else { return blob }
        var copy = blob
        copy[index] ^= 0x01
        return copy
    }

    static func flipping(_ blob: [UInt8], at index: Int, to value: UInt8) -> [UInt8] {
        guard blob.indices.contains(index) else { return blob }
        var copy = blob
        copy[index] = value
        return copy
    }

    static func replacing(_ blob: [UInt8], _ range: Range<Int>, with bytes: [UInt8]) -> [UInt8] {
        guard range.upperBound <= blob.count else { return blob }
        var copy = blob
        copy.replaceSubrange(range, with: bytes)
        return copy
    }
}

import ArgumentParser
import Foundation
import GRPCCore
import KeylakeProto
import KeylakeRPC
import KeylakeTransport
import SwiftProtobuf

/// `keylake kms …`: the key service's API, one subcommand per operation, shaped like `aws kms`.
///
/// Output is the response as JSON with AWS-style PascalCase member names; binary fields are base64.
/// A failed call prints `An error occurred (<ExceptionName>) when calling the <Operation> operation:
/// <message>` on standard error and exits with status 254, as the AWS CLI does.
struct KMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kms",
        abstract: "Call the key service (kmsd).",
        subcommands: [
            KMSCreateKey.self, KMSDescribeKey.self, KMSListKeys.self, KMSEnableKey.self, KMSDisableKey.self,
            KMSScheduleKeyDeletion.self, KMSCancelKeyDeletion.self, KMSUpdateKeyDescription.self,
            KMSEnableKeyRotation.self, KMSDisableKeyRotation.self, KMSGetKeyRotationStatus.self,
            KMSRotateKeyOnDemand.self, KMSListKeyRotations.self,
            KMSCreateAlias.self, KMSUpdateAlias.self, KMSDeleteAlias.self, KMSListAliases.self,
            KMSTagResource.self, KMSUntagResource.self, KMSListResourceTags.self,
            KMSPutKeyPolicy.self, KMSGetKeyPolicy.self, KMSListKeyPolicies.self,
            KMSEncrypt.self, KMSDecrypt.self, KMSReEncrypt.self, KMSGenerateDataKey.self,
            KMSGenerateDataKeyWithoutPlaintext.self, KMSGenerateRandom.self,
            KMSCreateGrant.self, KMSListGrants.self, KMSListRetirableGrants.self, KMSRetireGrant.self,
            KMSRevokeGrant.self,
            KMSLookupEvents.self, KMSVerifyAuditChain.self,
        ])
}

/// Options every `keylake kms` command takes.
struct KMSOptions: ParsableArguments {
    @OptionGroup var home: HomeOptions

    @Option(
        name: .long,
        help: "Act on behalf of this principal (honoured by kmsd only when the identity is a registered service).")
    var onBehalfOf: String?

    typealias Client = Keylake_Kms_V1_KeyManagementService.Client<KeylakeClientTransport>

    /// Calls kmsd and prints the response as JSON.
    func run<Response: SwiftProtobuf.Message & Sendable>(
        _ operation: String, _ call: @Sendable @escaping (Client, Metadata) async throws -> Response
    ) async throws {
        let response = try await self.call(operation, call)
        if let text = try AWSJSON.render(response) { print(text) }
    }

    /// Calls kmsd and returns the response; a failure is printed as the aws CLI prints it and
    /// ends the command with status 254.
    func call<Response: SwiftProtobuf.Message & Sendable>(
        _ operation: String, _ call: @Sendable @escaping (Client, Metadata) async throws -> Response
    ) async throws -> Response {
        var metadata = Metadata()
        if let onBehalfOf = self.onBehalfOf { metadata.addString(onBehalfOf, forKey: KeylakeMetadataKey.onBehalfOf) }
        let response: Response
        do {
            response = try await self.home.withClient(.kmsd) { client in
                try await call(Client(wrapping: client), metadata)
            }
        } catch let error as RPCError {
            let name = error.metadata[stringValues: KeylakeMetadataKey.errorName].first(where: { _ in true })
                ?? "\(error.code)"
            Terminal.error("An error occurred (\(name)) when calling the \(operation) operation: \(error.message)\n")
            throw ExitCode(254)
        }
        return response
    }
}

/// Renders protobuf messages the way the AWS CLI prints responses.
enum AWSJSON {
    /// The response as the AWS CLI prints it, or nil when it has no members (the AWS CLI prints
    /// nothing for an empty response). A list member is printed even when empty
    /// (`{"Grants": []}`), so `jq '.Grants[]'` works; protobuf's JSON leaves empty lists out.
    static func render(_ message: some SwiftProtobuf.Message) throws -> String? {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        let data = try message.jsonUTF8Data(options: options)
        let object = try JSONSerialization.jsonObject(with: data)
        var converted = Self.pascalCase(object)
        if var members = converted as? [String: Any] {
            for list in Self.listMembers[type(of: message).protoMessageName] ?? [] where members[list] == nil {
                members[list] = [Any]()
            }
            if members.isEmpty { return nil }
            converted = members
        }
        let output = try JSONSerialization.data(
            withJSONObject: converted, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        return String(decoding: output, as: UTF8.self)
    }

    /// `key_metadata` → `KeyMetadata`, `aws_account_id` → `AWSAccountId`; map keys that are data
    /// (encryption contexts, tags) keep their case.
    private static func pascalCase(_ value: Any, dataKeys: Bool = false) -> Any {
        if let dictionary = value as? [String: Any] {
            var result: [String: Any] = [:]
            for (key, inner) in dictionary {
                let isDataMap = key.hasSuffix("encryption_context") || key.hasSuffix("_subset") || key.hasSuffix("_equals")
                    || key == "statuses"
                var value = Self.pascalCase(inner, dataKeys: isDataMap)
                // protobuf JSON writes 64-bit integers as strings; the AWS CLI prints numbers.
                if !dataKeys, let text = value as? String, Self.numericKeys.contains(where: key.hasSuffix), let number = Int64(text) {
                    value = number
                }
                if !dataKeys, key == "key_state", let text = value as? String { value = Self.keyStates[text] ?? text }
                result[dataKeys ? key : Self.convert(key)] = value
            }
            return result
        }
        if let array = value as? [Any] { return array.map { Self.pascalCase($0) } }
        return value
    }

    /// The list members of each response, by protobuf message name (from proto/).
    private static let listMembers: [String: [String]] = [
        Keylake_Kms_V1_ListKeysResponse.protoMessageName: ["Keys"],
        Keylake_Kms_V1_ListKeyRotationsResponse.protoMessageName: ["Rotations"],
        Keylake_Kms_V1_ListAliasesResponse.protoMessageName: ["Aliases"],
        Keylake_Kms_V1_ListResourceTagsResponse.protoMessageName: ["Tags"],
        Keylake_Kms_V1_ListKeyPoliciesResponse.protoMessageName: ["PolicyNames"],
        Keylake_Kms_V1_ListGrantsResponse.protoMessageName: ["Grants"],
        Keylake_Kms_V1_LookupEventsResponse.protoMessageName: ["Events"],
        Keylake_Healthlake_V1_ListFHIRDatastoresResponse.protoMessageName: ["DatastorePropertiesList"],
    ]

    private static let numericKeys = ["_date", "_time", "events_checked", "first_bad_sequence"]
    private static let keyStates = ["ENABLED": "Enabled", "DISABLED": "Disabled", "PENDING_DELETION": "PendingDeletion"]

    private static func convert(_ key: String) -> String {
        key.split(separator: "_").map { part -> String in
            switch part {
            case "id": return "Id"
            case "arn": return "Arn"
            case "aws": return "AWS"
            default: return part.prefix(1).uppercased() + part.dropFirst()
            }
        }.joined()
    }
}

/// Parses the aws CLI's shorthand for KMS tags, `TagKey=k,TagValue=v`, one tag per argument.
func awsShorthandTags(_ arguments: [String], option: String) throws -> [(key: String, value: String)] {
    try arguments.map { argument in
        var key: String?
        var value: String?
        for field in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let equals = field.firstIndex(of: "=") else {
                throw CLIError("\(option) expects TagKey=k,TagValue=v, got \"\(argument)\"")
            }
            switch field[..<equals] {
            case "TagKey": key = String(field[field.index(after: equals)...])
            case "TagValue": value = String(field[field.index(after: equals)...])
            default: throw CLIError("\(option) expects TagKey=k,TagValue=v, got \"\(argument)\"")
            }
        }
        guard let key, !key.isEmpty, let value else { throw CLIError("\(option) expects TagKey=k,TagValue=v, got \"\(argument)\"") }
        return (key, value)
    }
}

/// Parses `k=v` pairs given as repeated options.
func keyValuePairs(_ pairs: [String], option: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for pair in pairs {
        guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
            throw ValidationError("\(option) expects key=value, got \"\(pair)\"")
        }
        let key = String(pair[..<equals])
        guard result[key] == nil else { throw ValidationError("\(option) names \"\(key)\" twice") }
        result[key] = String(pair[pair.index(after: equals)...])
    }
    return result
}

/// Reads a document (a key policy) from a file, or `-` for standard input: UTF-8, at most
/// 1 MiB (kmsd's own limit for a policy is 32 KiB and it answers a larger one with its error).
func readDocument(_ path: String, what: String = "policy file") throws -> String {
    do {
        return try InputFile.readText(path, what: what, maximumBytes: 1 << 20)
    } catch let error as InputFile.Failure {
        throw CLIError(error.description)
    }
}

func base64Argument(_ text: String, option: String) throws -> Data {
    guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
        throw ValidationError("\(option) must be base64")
    }
    return data
}

// MARK: - Keys

struct KMSCreateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-key", abstract: "Create a customer-managed key.")
    @OptionGroup var options: KMSOptions
    @Option(help: "Description.") var description: String = ""
    @Option(name: .customLong("policy-file"), help: "Key policy JSON file (- for stdin); default policy if omitted.")
    var policyFile: String?
    @Option(name: .customLong("tag"), help: "Tag as key=value; repeatable.") var tags: [String] = []
    func run() async throws {
        var draft = Keylake_Kms_V1_CreateKeyRequest()
        draft.description_p = self.description
        if let file = self.policyFile { draft.policy = try readDocument(file) }
        draft.tags = try keyValuePairs(self.tags, option: "--tag").sorted { $0.key < $1.key }.map { pair in
            .with { $0.tagKey = pair.key; $0.tagValue = pair.value }
        }
        let request = draft
        try await self.options.run("CreateKey") { try await $0.createKey(request, metadata: $1, options: .cli) }
    }
}

struct KMSDescribeKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe-key", abstract: "Describe a key.")
    @OptionGroup var options: KMSOptions
    @Option(help: "Key id, key ARN, alias name or alias ARN.") var keyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_DescribeKeyRequest.with { $0.keyID = self.keyId }
        try await self.options.run("DescribeKey") { try await $0.describeKey(request, metadata: $1, options: .cli) }
    }
}

struct KMSListKeys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-keys", abstract: "List keys.")
    @OptionGroup var options: KMSOptions
    @Option(help: "Page size.") var limit: Int32 = 0
    @Option(help: "Marker from a previous page.") var marker: String = ""
    func run() async throws {
        let request = Keylake_Kms_V1_ListKeysRequest.with { $0.limit = self.limit; $0.marker = self.marker }
        try await self.options.run("ListKeys") { try await $0.listKeys(request, metadata: $1, options: .cli) }
    }
}

struct KMSEnableKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enable-key", abstract: "Enable a key.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_EnableKeyRequest.with { $0.keyID = self.keyId }
        try await self.options.run("EnableKey") { try await $0.enableKey(request, metadata: $1, options: .cli) }
    }
}

struct KMSDisableKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disable-key", abstract: "Disable a key.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_DisableKeyRequest.with { $0.keyID = self.keyId }
        try await self.options.run("DisableKey") { try await $0.disableKey(request, metadata: $1, options: .cli) }
    }
}

struct KMSScheduleKeyDeletion: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule-key-deletion", abstract: "Schedule a key's deletion after a waiting period.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    @Option(help: "7-30 days; 30 when omitted.") var pendingWindowInDays: Int32 = 0
    func run() async throws {
        let request = Keylake_Kms_V1_ScheduleKeyDeletionRequest.with {
            $0.keyID = self.keyId
            $0.pendingWindowInDays = self.pendingWindowInDays
        }
        try await self.options.run("ScheduleKeyDeletion") { try await $0.scheduleKeyDeletion(request, metadata: $1, options: .cli) }
    }
}

struct KMSCancelKeyDeletion: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel-key-deletion", abstract: "Cancel a scheduled deletion.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_CancelKeyDeletionRequest.with { $0.keyID = self.keyId }
        try await self.options.run("CancelKeyDeletion") { try await $0.cancelKeyDeletion(request, metadata: $1, options: .cli) }
    }
}

struct KMSUpdateKeyDescription: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update-key-description", abstract: "Change a key's description.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    @Option var description: String
    func run() async throws {
        let request = Keylake_Kms_V1_UpdateKeyDescriptionRequest.with { $0.keyID = self.keyId; $0.description_p = self.description }
        try await self.options.run("UpdateKeyDescription") { try await $0.updateKeyDescription(request, metadata: $1, options: .cli) }
    }
}

// MARK: - Rotation

struct KMSEnableKeyRotation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enable-key-rotation", abstract: "Turn on automatic rotation.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    @Option(help: "90-2560 days; 365 when omitted.") var rotationPeriodInDays: Int32 = 0
    func run() async throws {
        let request = Keylake_Kms_V1_EnableKeyRotationRequest.with {
            $0.keyID = self.keyId
            $0.rotationPeriodInDays = self.rotationPeriodInDays
        }
        try await self.options.run("EnableKeyRotation") { try await $0.enableKeyRotation(request, metadata: $1, options: .cli) }
    }
}

struct KMSDisableKeyRotation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disable-key-rotation", abstract: "Turn off automatic rotation.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_DisableKeyRotationRequest.with { $0.keyID = self.keyId }
        try await self.options.run("DisableKeyRotation") { try await $0.disableKeyRotation(request, metadata: $1, options: .cli) }
    }
}

struct KMSGetKeyRotationStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get-key-rotation-status", abstract: "Show rotation settings.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_GetKeyRotationStatusRequest.with { $0.keyID = self.keyId }
        try await self.options.run("GetKeyRotationStatus") { try await $0.getKeyRotationStatus(request, metadata: $1, options: .cli) }
    }
}

struct KMSRotateKeyOnDemand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rotate-key-on-demand", abstract: "Rotate a key's material now.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_RotateKeyOnDemandRequest.with { $0.keyID = self.keyId }
        try await self.options.run("RotateKeyOnDemand") { try await $0.rotateKeyOnDemand(request, metadata: $1, options: .cli) }
    }
}

struct KMSListKeyRotations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-key-rotations", abstract: "List a key's rotations.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    @Option var limit: Int32 = 0
    @Option var marker: String = ""
    func run() async throws {
        let request = Keylake_Kms_V1_ListKeyRotationsRequest.with { $0.keyID = self.keyId; $0.limit = self.limit; $0.marker = self.marker }
        try await self.options.run("ListKeyRotations") { try await $0.listKeyRotations(request, metadata: $1, options: .cli) }
    }
}

// MARK: - Aliases and tags

struct KMSCreateAlias: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-alias", abstract: "Create an alias (alias/NAME).")
    @OptionGroup var options: KMSOptions
    @Option var aliasName: String
    @Option var targetKeyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_CreateAliasRequest.with { $0.aliasName = self.aliasName; $0.targetKeyID = self.targetKeyId }
        try await self.options.run("CreateAlias") { try await $0.createAlias(request, metadata: $1, options: .cli) }
    }
}

struct KMSUpdateAlias: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update-alias", abstract: "Point an alias at another key.")
    @OptionGroup var options: KMSOptions
    @Option var aliasName: String
    @Option var targetKeyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_UpdateAliasRequest.with { $0.aliasName = self.aliasName; $0.targetKeyID = self.targetKeyId }
        try await self.options.run("UpdateAlias") { try await $0.updateAlias(request, metadata: $1, options: .cli) }
    }
}

struct KMSDeleteAlias: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete-alias", abstract: "Delete an alias.")
    @OptionGroup var options: KMSOptions
    @Option var aliasName: String
    func run() async throws {
        let request = Keylake_Kms_V1_DeleteAliasRequest.with { $0.aliasName = self.aliasName }
        try await self.options.run("DeleteAlias") { try await $0.deleteAlias(request, metadata: $1, options: .cli) }
    }
}

struct KMSListAliases: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-aliases", abstract: "List aliases.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String = ""
    @Option var limit: Int32 = 0
    @Option var marker: String = ""
    func run() async throws {
        let request = Keylake_Kms_V1_ListAliasesRequest.with { $0.keyID = self.keyId; $0.limit = self.limit; $0.marker = self.marker }
        try await self.options.run("ListAliases") { try await $0.listAliases(request, metadata: $1, options: .cli) }
    }
}

struct KMSTagResource: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag-resource", abstract: "Add or replace tags.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    @Option(name: .customLong("tag"), help: "key=value; repeatable.") var tags: [String] = []
    @Option(
        name: .customLong("tags"), parsing: .upToNextOption,
        help: "The aws CLI's spelling: TagKey=k,TagValue=v ... (one or more).")
    var awsTags: [String] = []
    func run() async throws {
        let pairs = try (keyValuePairs(self.tags, option: "--tag").map { (key: $0.key, value: $0.value) }
            + awsShorthandTags(self.awsTags, option: "--tags")).sorted { $0.key < $1.key }
        guard !pairs.isEmpty else { throw CLIError("tag-resource needs at least one tag: --tag key=value or --tags TagKey=k,TagValue=v") }
        let request = Keylake_Kms_V1_TagResourceRequest.with { request in
            request.keyID = self.keyId
            request.tags = pairs.map { pair in .with { $0.tagKey = pair.key; $0.tagValue = pair.value } }
        }
        try await self.options.run("TagResource") { try await $0.tagResource(request, metadata: $1, options: .cli) }
    }
}

struct KMSUntagResource: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "untag-resource", abstract: "Remove tags.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    @Option(name: .customLong("tag-key"), help: "Repeatable.") var tagKeys: [String]
    func run() async throws {
        let request = Keylake_Kms_V1_UntagResourceRequest.with { $0.keyID = self.keyId; $0.tagKeys = self.tagKeys }
        try await self.options.run("UntagResource") { try await $0.untagResource(request, metadata: $1, options: .cli) }
    }
}

struct KMSListResourceTags: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-resource-tags", abstract: "List a key's tags.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_ListResourceTagsRequest.with { $0.keyID = self.keyId }
        try await self.options.run("ListResourceTags") { try await $0.listResourceTags(request, metadata: $1, options: .cli) }
    }
}

// MARK: - Policies

struct KMSPutKeyPolicy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put-key-policy", abstract: "Replace a key's policy.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    @Option(name: .customLong("policy-file"), help: "Policy JSON file (- for stdin).") var policyFile: String
    func run() async throws {
        let policy = try readDocument(self.policyFile)
        let request = Keylake_Kms_V1_PutKeyPolicyRequest.with { $0.keyID = self.keyId; $0.policyName = "default"; $0.policy = policy }
        try await self.options.run("PutKeyPolicy") { try await $0.putKeyPolicy(request, metadata: $1, options: .cli) }
    }
}

struct KMSGetKeyPolicy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get-key-policy", abstract: "Show a key's policy.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_GetKeyPolicyRequest.with { $0.keyID = self.keyId; $0.policyName = "default" }
        try await self.options.run("GetKeyPolicy") { try await $0.getKeyPolicy(request, metadata: $1, options: .cli) }
    }
}

struct KMSListKeyPolicies: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-key-policies", abstract: "List a key's policy names.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    func run() async throws {
        let request = Keylake_Kms_V1_ListKeyPoliciesRequest.with { $0.keyID = self.keyId }
        try await self.options.run("ListKeyPolicies") { try await $0.listKeyPolicies(request, metadata: $1, options: .cli) }
    }
}

// MARK: - Cryptographic operations

struct KMSEncrypt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "encrypt", abstract: "Encrypt up to 4,096 bytes.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    @Option(help: "Plaintext as base64.") var plaintext: String
    @Option(name: .customLong("encryption-context"), help: "key=value; repeatable.") var context: [String] = []
    func run() async throws {
        let plaintext = try base64Argument(self.plaintext, option: "--plaintext")
        let context = try keyValuePairs(self.context, option: "--encryption-context")
        let request = Keylake_Kms_V1_EncryptRequest.with {
            $0.keyID = self.keyId
            $0.plaintext = plaintext
            $0.encryptionContext = context
        }
        try await self.options.run("Encrypt") { try await $0.encrypt(request, metadata: $1, options: .cli) }
    }
}

struct KMSDecrypt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decrypt", abstract: "Decrypt a ciphertext blob.")
    @OptionGroup var options: KMSOptions
    @Option(help: "Ciphertext blob as base64.") var ciphertextBlob: String
    @Option(help: "Expected key (optional).") var keyId: String = ""
    @Option(name: .customLong("encryption-context"), help: "key=value; repeatable.") var context: [String] = []
    func run() async throws {
        let blob = try base64Argument(self.ciphertextBlob, option: "--ciphertext-blob")
        let context = try keyValuePairs(self.context, option: "--encryption-context")
        let request = Keylake_Kms_V1_DecryptRequest.with {
            $0.ciphertextBlob = blob
            $0.keyID = self.keyId
            $0.encryptionContext = context
        }
        try await self.options.run("Decrypt") { try await $0.decrypt(request, metadata: $1, options: .cli) }
    }
}

struct KMSReEncrypt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "re-encrypt", abstract: "Decrypt and encrypt under another key inside kmsd.")
    @OptionGroup var options: KMSOptions
    @Option(help: "Ciphertext blob as base64.") var ciphertextBlob: String
    @Option var destinationKeyId: String
    @Option var sourceKeyId: String = ""
    @Option(name: .customLong("source-encryption-context"), help: "key=value; repeatable.") var sourceContext: [String] = []
    @Option(name: .customLong("destination-encryption-context"), help: "key=value; repeatable.") var destinationContext: [String] = []
    func run() async throws {
        let blob = try base64Argument(self.ciphertextBlob, option: "--ciphertext-blob")
        let source = try keyValuePairs(self.sourceContext, option: "--source-encryption-context")
        let destination = try keyValuePairs(self.destinationContext, option: "--destination-encryption-context")
        let request = Keylake_Kms_V1_ReEncryptRequest.with {
            $0.ciphertextBlob = blob
            $0.sourceKeyID = self.sourceKeyId
            $0.destinationKeyID = self.destinationKeyId
            $0.sourceEncryptionContext = source
            $0.destinationEncryptionContext = destination
        }
        try await self.options.run("ReEncrypt") { try await $0.reEncrypt(request, metadata: $1, options: .cli) }
    }
}

struct DataKeyArguments: ParsableArguments {
    @Option var keyId: String
    @Option(help: "AES_256 or AES_128.") var keySpec: String = ""
    @Option(help: "1-1024; instead of --key-spec.") var numberOfBytes: Int32 = 0
    @Option(name: .customLong("encryption-context"), help: "key=value; repeatable.") var context: [String] = []

    func request() throws -> Keylake_Kms_V1_GenerateDataKeyRequest {
        let context = try keyValuePairs(self.context, option: "--encryption-context")
        return .with {
            $0.keyID = self.keyId
            $0.keySpec = self.keySpec
            $0.numberOfBytes = self.numberOfBytes
            $0.encryptionContext = context
        }
    }
}

struct KMSGenerateDataKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate-data-key", abstract: "Make a data key: plaintext and wrapped.")
    @OptionGroup var options: KMSOptions
    @OptionGroup var arguments: DataKeyArguments
    func run() async throws {
        let request = try self.arguments.request()
        try await self.options.run("GenerateDataKey") { try await $0.generateDataKey(request, metadata: $1, options: .cli) }
    }
}

struct KMSGenerateDataKeyWithoutPlaintext: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-data-key-without-plaintext", abstract: "Make a data key, wrapped only.")
    @OptionGroup var options: KMSOptions
    @OptionGroup var arguments: DataKeyArguments
    func run() async throws {
        let request = try self.arguments.request()
        try await self.options.run("GenerateDataKeyWithoutPlaintext") {
            try await $0.generateDataKeyWithoutPlaintext(request, metadata: $1, options: .cli)
        }
    }
}

struct KMSGenerateRandom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate-random", abstract: "Random bytes from kmsd.")
    @OptionGroup var options: KMSOptions
    @Option(help: "1-1024.") var numberOfBytes: Int32
    func run() async throws {
        let request = Keylake_Kms_V1_GenerateRandomRequest.with { $0.numberOfBytes = self.numberOfBytes }
        try await self.options.run("GenerateRandom") { try await $0.generateRandom(request, metadata: $1, options: .cli) }
    }
}

// MARK: - Grants

struct KMSCreateGrant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-grant", abstract: "Grant a principal operations on a key.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    @Option var granteePrincipal: String
    @Option var retiringPrincipal: String = ""
    @Option(
        parsing: .upToNextOption,
        help: "Operations, as the aws CLI takes them (--operations Decrypt GenerateDataKey) or comma-separated.")
    var operations: [String]
    @Option var name: String = ""
    @Option(name: .customLong("encryption-context-subset"), help: "Constraint key=value; repeatable.") var subset: [String] = []
    @Option(name: .customLong("encryption-context-equals"), help: "Constraint key=value; repeatable.") var equals: [String] = []
    func run() async throws {
        let subset = try keyValuePairs(self.subset, option: "--encryption-context-subset")
        let equals = try keyValuePairs(self.equals, option: "--encryption-context-equals")
        let request = Keylake_Kms_V1_CreateGrantRequest.with { request in
            request.keyID = self.keyId
            request.granteePrincipal = self.granteePrincipal
            request.retiringPrincipal = self.retiringPrincipal
            request.operations = self.operations.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            request.name = self.name
            if !subset.isEmpty || !equals.isEmpty {
                request.constraints = .with { $0.encryptionContextSubset = subset; $0.encryptionContextEquals = equals }
            }
        }
        try await self.options.run("CreateGrant") { try await $0.createGrant(request, metadata: $1, options: .cli) }
    }
}

struct KMSListGrants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-grants", abstract: "List a key's grants.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    @Option var grantId: String = ""
    @Option var granteePrincipal: String = ""
    @Option var limit: Int32 = 0
    @Option var marker: String = ""
    func run() async throws {
        let request = Keylake_Kms_V1_ListGrantsRequest.with {
            $0.keyID = self.keyId
            $0.grantID = self.grantId
            $0.granteePrincipal = self.granteePrincipal
            $0.limit = self.limit
            $0.marker = self.marker
        }
        try await self.options.run("ListGrants") { try await $0.listGrants(request, metadata: $1, options: .cli) }
    }
}

struct KMSListRetirableGrants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-retirable-grants", abstract: "List grants a principal may retire.")
    @OptionGroup var options: KMSOptions
    @Option var retiringPrincipal: String
    func run() async throws {
        let request = Keylake_Kms_V1_ListRetirableGrantsRequest.with { $0.retiringPrincipal = self.retiringPrincipal }
        try await self.options.run("ListRetirableGrants") { try await $0.listRetirableGrants(request, metadata: $1, options: .cli) }
    }
}

struct KMSRetireGrant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retire-grant", abstract: "Retire a grant (by token, or key and grant id).")
    @OptionGroup var options: KMSOptions
    @Option var grantToken: String = ""
    @Option var keyId: String = ""
    @Option var grantId: String = ""
    func run() async throws {
        let request = Keylake_Kms_V1_RetireGrantRequest.with {
            $0.grantToken = self.grantToken
            $0.keyID = self.keyId
            $0.grantID = self.grantId
        }
        try await self.options.run("RetireGrant") { try await $0.retireGrant(request, metadata: $1, options: .cli) }
    }
}

struct KMSRevokeGrant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke-grant", abstract: "Revoke a grant.")
    @OptionGroup var options: KMSOptions
    @Option var keyId: String
    @Option var grantId: String
    func run() async throws {
        let request = Keylake_Kms_V1_RevokeGrantRequest.with { $0.keyID = self.keyId; $0.grantID = self.grantId }
        try await self.options.run("RevokeGrant") { try await $0.revokeGrant(request, metadata: $1, options: .cli) }
    }
}

// MARK: - Audit

struct KMSLookupEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup-events", abstract: "Look up audit events (CloudTrail-shaped), as `aws cloudtrail lookup-events`.")
    @OptionGroup var options: KMSOptions
    @Option(
        name: .customLong("lookup-attributes"), parsing: .upToNextOption,
        help: "AttributeKey=K,AttributeValue=V ... (EventName, ResourceName, Username, EventId), as the aws CLI takes them.")
    var lookupAttributes: [String] = []
    @Option(help: "EventName filter.") var eventName: String?
    @Option(help: "Key id or ARN filter.") var resourceName: String?
    @Option(help: "Principal filter.") var username: String?
    @Option var maxResults: Int32 = 0
    @Option var nextToken: String = ""
    func run() async throws {
        var attributes: [Keylake_Kms_V1_LookupAttribute] = []
        for (key, value) in [("EventName", self.eventName), ("ResourceName", self.resourceName), ("Username", self.username)] {
            if let value { attributes.append(.with { $0.attributeKey = key; $0.attributeValue = value }) }
        }
        for argument in self.lookupAttributes {
            let (key, value) = try Self.attribute(argument)
            attributes.append(.with { $0.attributeKey = key; $0.attributeValue = value })
        }
        let request = Keylake_Kms_V1_LookupEventsRequest.with {
            $0.lookupAttributes = attributes
            $0.maxResults = self.maxResults
            $0.nextToken = self.nextToken
        }
        let response = try await self.options.call("LookupEvents") { try await $0.lookupEvents(request, metadata: $1, options: .cli) }
        print(try Self.render(response))
    }

    /// `AttributeKey=K,AttributeValue=V` (the value may contain commas).
    static func attribute(_ argument: String) throws -> (String, String) {
        let bad = CLIError("--lookup-attributes expects AttributeKey=K,AttributeValue=V, got \"\(argument)\"")
        guard argument.hasPrefix("AttributeKey="), let separator = argument.range(of: ",AttributeValue=") else { throw bad }
        let key = String(argument[argument.index(argument.startIndex, offsetBy: "AttributeKey=".count)..<separator.lowerBound])
        guard !key.isEmpty else { throw bad }
        return (key, String(argument[separator.upperBound...]))
    }

    /// The response as `aws cloudtrail lookup-events` prints it: each event with EventId,
    /// EventName, ReadOnly, EventTime, EventSource, Username, Resources and the full
    /// CloudTrailEvent JSON (as a string, as CloudTrail gives it).
    static func render(_ response: Keylake_Kms_V1_LookupEventsResponse) throws -> String {
        let events: [[String: Any]] = response.events.map { event in
            let record = (try? JSONSerialization.jsonObject(with: Data(event.cloudTrailEvent.utf8))) as? [String: Any] ?? [:]
            var entry: [String: Any] = [
                "EventId": event.eventID, "EventName": event.eventName, "EventTime": event.eventTime,
                "Username": event.username, "CloudTrailEvent": event.cloudTrailEvent,
            ]
            if let readOnly = record["readOnly"] as? Bool { entry["ReadOnly"] = readOnly ? "true" : "false" }
            if let source = record["eventSource"] as? String { entry["EventSource"] = source }
            entry["Resources"] = ((record["resources"] as? [[String: Any]]) ?? []).map { resource -> [String: Any] in
                ["ResourceType": resource["type"] ?? "", "ResourceName": resource["ARN"] ?? ""]
            }
            return entry
        }
        var output: [String: Any] = ["Events": events]
        if !response.nextToken.isEmpty { output["NextToken"] = response.nextToken }
        let data = try JSONSerialization.data(withJSONObject: output, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

struct KMSVerifyAuditChain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-audit-chain", abstract: "Verify the audit trail's hash chain.")
    @OptionGroup var options: KMSOptions
    func run() async throws {
        try await self.options.run("VerifyAuditChain") { try await $0.verifyAuditChain(.init(), metadata: $1, options: .cli) }
    }
}

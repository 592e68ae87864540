public import GRPCCore
public import KMS
public import KeylakeProto
import KeylakeTransport
import SwiftProtobuf

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `keylake.kms.v1.KeyManagementService` over a ``KMS/KeyService``: translates messages and
/// nothing else. Authorization, validation and audit are the key service's; errors become
/// statuses through `KMSError`'s `RPCErrorConvertible` conformance.
public struct KeyManagementServiceHandler: Keylake_Kms_V1_KeyManagementService.SimpleServiceProtocol {
    private let keys: KeyService

    public init(keys: KeyService) {
        self.keys = keys
    }

    /// The caller as the transport verified it; calls without a verified identity are refused.
    private func caller(_ context: ServerContext) throws -> CallerContext {
        guard let identity = context.peerIdentity else {
            throw RPCError(code: .unauthenticated, message: "no verified client identity")
        }
        return CallerContext(
            principal: identity.principal, onBehalfOf: identity.onBehalfOf, requestID: identity.requestID,
            sourceIPAddress: identity.remoteAddress ?? "", userAgent: identity.userAgent ?? "")
    }

    // MARK: - Keys

    public func createKey(request: Keylake_Kms_V1_CreateKeyRequest, context: ServerContext) async throws -> Keylake_Kms_V1_CreateKeyResponse {
        guard request.keySpec.isEmpty || request.keySpec == "SYMMETRIC_DEFAULT" else {
            try await self.keys.refuse(
                .createKey,
                KMSError(code: .unsupportedOperation, message: "KeySpec \(request.keySpec.prefix(64)) is not supported; only SYMMETRIC_DEFAULT"),
                caller: try self.caller(context))
        }
        guard request.keyUsage.isEmpty || request.keyUsage == "ENCRYPT_DECRYPT" else {
            try await self.keys.refuse(
                .createKey,
                KMSError(code: .unsupportedOperation, message: "KeyUsage \(request.keyUsage.prefix(64)) is not supported; only ENCRYPT_DECRYPT"),
                caller: try self.caller(context))
        }
        let metadata = try await self.keys.createKey(
            CreateKeyRequest(
                description: request.description_p,
                policy: request.policy.isEmpty ? nil : request.policy,
                tags: request.tags.map { KeyTag(key: $0.tagKey, value: $0.tagValue) }),
            caller: try self.caller(context))
        return .with { $0.keyMetadata = Self.wire(metadata) }
    }

    public func describeKey(request: Keylake_Kms_V1_DescribeKeyRequest, context: ServerContext) async throws -> Keylake_Kms_V1_DescribeKeyResponse {
        let metadata = try await self.keys.describeKey(keyID: request.keyID, caller: try self.caller(context))
        return .with { $0.keyMetadata = Self.wire(metadata) }
    }

    public func listKeys(request: Keylake_Kms_V1_ListKeysRequest, context: ServerContext) async throws -> Keylake_Kms_V1_ListKeysResponse {
        let page = try await self.keys.listKeys(
            limit: Self.limit(request.limit), marker: Self.optional(request.marker), caller: try self.caller(context))
        return .with { response in
            response.keys = page.entries.map { entry in .with { $0.keyID = entry.keyID.description; $0.keyArn = entry.keyARN } }
            response.nextMarker = page.nextMarker ?? ""
            response.truncated = page.truncated
        }
    }

    public func enableKey(request: Keylake_Kms_V1_EnableKeyRequest, context: ServerContext) async throws -> Keylake_Kms_V1_EnableKeyResponse {
        try await self.keys.enableKey(keyID: request.keyID, caller: try self.caller(context))
        return .init()
    }

    public func disableKey(request: Keylake_Kms_V1_DisableKeyRequest, context: ServerContext) async throws -> Keylake_Kms_V1_DisableKeyResponse {
        try await self.keys.disableKey(keyID: request.keyID, caller: try self.caller(context))
        return .init()
    }

    public func scheduleKeyDeletion(
        request: Keylake_Kms_V1_ScheduleKeyDeletionRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_ScheduleKeyDeletionResponse {
        let schedule = try await self.keys.scheduleKeyDeletion(
            keyID: request.keyID, pendingWindowInDays: request.pendingWindowInDays == 0 ? nil : Int(request.pendingWindowInDays),
            caller: try self.caller(context))
        return .with {
            $0.keyID = schedule.keyARN
            $0.deletionDate = Self.seconds(schedule.deletionDate)
            $0.keyState = Self.wire(schedule.keyState)
            $0.pendingWindowInDays = Int32(schedule.pendingWindowInDays)
        }
    }

    public func cancelKeyDeletion(
        request: Keylake_Kms_V1_CancelKeyDeletionRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_CancelKeyDeletionResponse {
        let keyARN = try await self.keys.cancelKeyDeletion(keyID: request.keyID, caller: try self.caller(context))
        return .with { $0.keyID = keyARN }
    }

    public func updateKeyDescription(
        request: Keylake_Kms_V1_UpdateKeyDescriptionRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_UpdateKeyDescriptionResponse {
        try await self.keys.updateKeyDescription(keyID: request.keyID, description: request.description_p, caller: try self.caller(context))
        return .init()
    }

    // MARK: - Rotation

    public func enableKeyRotation(
        request: Keylake_Kms_V1_EnableKeyRotationRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_EnableKeyRotationResponse {
        try await self.keys.enableKeyRotation(
            keyID: request.keyID,
            rotationPeriodInDays: request.rotationPeriodInDays == 0 ? nil : Int(request.rotationPeriodInDays),
            caller: try self.caller(context))
        return .init()
    }

    public func disableKeyRotation(
        request: Keylake_Kms_V1_DisableKeyRotationRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_DisableKeyRotationResponse {
        try await self.keys.disableKeyRotation(keyID: request.keyID, caller: try self.caller(context))
        return .init()
    }

    public func getKeyRotationStatus(
        request: Keylake_Kms_V1_GetKeyRotationStatusRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_GetKeyRotationStatusResponse {
        let status = try await self.keys.getKeyRotationStatus(keyID: request.keyID, caller: try self.caller(context))
        return .with {
            $0.keyID = status.keyARN
            $0.keyRotationEnabled = status.keyRotationEnabled
            $0.rotationPeriodInDays = Int32(status.rotationPeriodInDays ?? 0)
            $0.nextRotationDate = status.nextRotationDate.map(Self.seconds) ?? 0
        }
    }

    public func rotateKeyOnDemand(
        request: Keylake_Kms_V1_RotateKeyOnDemandRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_RotateKeyOnDemandResponse {
        let keyARN = try await self.keys.rotateKeyOnDemand(keyID: request.keyID, caller: try self.caller(context))
        return .with { $0.keyID = keyARN }
    }

    public func listKeyRotations(
        request: Keylake_Kms_V1_ListKeyRotationsRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_ListKeyRotationsResponse {
        let page = try await self.keys.listKeyRotations(
            keyID: request.keyID, limit: Self.limit(request.limit), marker: Self.optional(request.marker),
            caller: try self.caller(context))
        return .with { response in
            response.rotations = page.entries.map { rotation in
                .with {
                    $0.keyID = rotation.keyID.description
                    $0.keyMaterialID = String(rotation.materialVersion)
                    $0.rotationDate = Self.seconds(rotation.rotationDate)
                    $0.rotationType = rotation.rotationType.rawValue
                }
            }
            response.nextMarker = page.nextMarker ?? ""
            response.truncated = page.truncated
        }
    }

    // MARK: - Aliases and tags

    public func createAlias(request: Keylake_Kms_V1_CreateAliasRequest, context: ServerContext) async throws -> Keylake_Kms_V1_CreateAliasResponse {
        try await self.keys.createAlias(aliasName: request.aliasName, targetKeyID: request.targetKeyID, caller: try self.caller(context))
        return .init()
    }

    public func updateAlias(request: Keylake_Kms_V1_UpdateAliasRequest, context: ServerContext) async throws -> Keylake_Kms_V1_UpdateAliasResponse {
        try await self.keys.updateAlias(aliasName: request.aliasName, targetKeyID: request.targetKeyID, caller: try self.caller(context))
        return .init()
    }

    public func deleteAlias(request: Keylake_Kms_V1_DeleteAliasRequest, context: ServerContext) async throws -> Keylake_Kms_V1_DeleteAliasResponse {
        try await self.keys.deleteAlias(aliasName: request.aliasName, caller: try self.caller(context))
        return .init()
    }

    public func listAliases(request: Keylake_Kms_V1_ListAliasesRequest, context: ServerContext) async throws -> Keylake_Kms_V1_ListAliasesResponse {
        let page = try await self.keys.listAliases(
            keyID: Self.optional(request.keyID), limit: Self.limit(request.limit), marker: Self.optional(request.marker),
            caller: try self.caller(context))
        return .with { response in
            response.aliases = page.entries.map { entry in
                .with {
                    $0.aliasName = entry.alias.aliasName
                    $0.aliasArn = entry.aliasARN
                    $0.targetKeyID = entry.alias.targetKeyID.description
                    $0.creationDate = Self.seconds(entry.alias.creationDate)
                }
            }
            response.nextMarker = page.nextMarker ?? ""
            response.truncated = page.truncated
        }
    }

    public func tagResource(request: Keylake_Kms_V1_TagResourceRequest, context: ServerContext) async throws -> Keylake_Kms_V1_TagResourceResponse {
        try await self.keys.tagResource(
            keyID: request.keyID, tags: request.tags.map { KeyTag(key: $0.tagKey, value: $0.tagValue) },
            caller: try self.caller(context))
        return .init()
    }

    public func untagResource(request: Keylake_Kms_V1_UntagResourceRequest, context: ServerContext) async throws -> Keylake_Kms_V1_UntagResourceResponse {
        try await self.keys.untagResource(keyID: request.keyID, tagKeys: request.tagKeys, caller: try self.caller(context))
        return .init()
    }

    public func listResourceTags(
        request: Keylake_Kms_V1_ListResourceTagsRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_ListResourceTagsResponse {
        let page = try await self.keys.listResourceTags(
            keyID: request.keyID, limit: Self.limit(request.limit), marker: Self.optional(request.marker),
            caller: try self.caller(context))
        return .with { response in
            response.tags = page.entries.map { tag in .with { $0.tagKey = tag.key; $0.tagValue = tag.value } }
            response.nextMarker = page.nextMarker ?? ""
            response.truncated = page.truncated
        }
    }

    // MARK: - Policies

    public func putKeyPolicy(request: Keylake_Kms_V1_PutKeyPolicyRequest, context: ServerContext) async throws -> Keylake_Kms_V1_PutKeyPolicyResponse {
        try await self.keys.putKeyPolicy(
            keyID: request.keyID, policyName: request.policyName.isEmpty ? KeyPolicy.defaultName : request.policyName,
            policy: request.policy, caller: try self.caller(context))
        return .init()
    }

    public func getKeyPolicy(request: Keylake_Kms_V1_GetKeyPolicyRequest, context: ServerContext) async throws -> Keylake_Kms_V1_GetKeyPolicyResponse {
        let name = request.policyName.isEmpty ? KeyPolicy.defaultName : request.policyName
        let policy = try await self.keys.getKeyPolicy(keyID: request.keyID, policyName: name, caller: try self.caller(context))
        return .with {
            $0.policy = policy
            $0.policyName = name
        }
    }

    public func listKeyPolicies(
        request: Keylake_Kms_V1_ListKeyPoliciesRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_ListKeyPoliciesResponse {
        let names = try await self.keys.listKeyPolicies(keyID: request.keyID, caller: try self.caller(context))
        return .with { $0.policyNames = names }
    }

    // MARK: - Cryptographic operations

    public func encrypt(request: Keylake_Kms_V1_EncryptRequest, context: ServerContext) async throws -> Keylake_Kms_V1_EncryptResponse {
        let result = try await self.keys.encrypt(
            keyID: request.keyID, plaintext: Array(request.plaintext), encryptionContext: request.encryptionContext,
            grantTokens: request.grantTokens, caller: try self.caller(context))
        return .with {
            $0.ciphertextBlob = Data(result.ciphertextBlob)
            $0.keyID = result.keyARN
            $0.encryptionAlgorithm = result.encryptionAlgorithm
        }
    }

    public func decrypt(request: Keylake_Kms_V1_DecryptRequest, context: ServerContext) async throws -> Keylake_Kms_V1_DecryptResponse {
        let result = try await self.keys.decrypt(
            ciphertextBlob: Array(request.ciphertextBlob), keyID: Self.optional(request.keyID),
            encryptionContext: request.encryptionContext, grantTokens: request.grantTokens, caller: try self.caller(context))
        return .with {
            $0.keyID = result.keyARN
            $0.plaintext = Data(result.plaintext)
            $0.encryptionAlgorithm = result.encryptionAlgorithm
        }
    }

    public func reEncrypt(request: Keylake_Kms_V1_ReEncryptRequest, context: ServerContext) async throws -> Keylake_Kms_V1_ReEncryptResponse {
        let result = try await self.keys.reEncrypt(
            ciphertextBlob: Array(request.ciphertextBlob), sourceKeyID: Self.optional(request.sourceKeyID),
            sourceEncryptionContext: request.sourceEncryptionContext, destinationKeyID: request.destinationKeyID,
            destinationEncryptionContext: request.destinationEncryptionContext, grantTokens: request.grantTokens,
            caller: try self.caller(context))
        return .with {
            $0.ciphertextBlob = Data(result.ciphertextBlob)
            $0.sourceKeyID = result.sourceKeyARN
            $0.keyID = result.keyARN
        }
    }

    public func generateDataKey(
        request: Keylake_Kms_V1_GenerateDataKeyRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_GenerateDataKeyResponse {
        let result = try await self.keys.generateDataKey(
            keyID: request.keyID, keySpec: try await self.keySpec(request.keySpec, .generateDataKey, context),
            numberOfBytes: request.numberOfBytes == 0 ? nil : Int(request.numberOfBytes),
            encryptionContext: request.encryptionContext, grantTokens: request.grantTokens, caller: try self.caller(context))
        return .with {
            $0.ciphertextBlob = Data(result.ciphertextBlob)
            $0.plaintext = Data(result.plaintext ?? [])
            $0.keyID = result.keyARN
        }
    }

    public func generateDataKeyWithoutPlaintext(
        request: Keylake_Kms_V1_GenerateDataKeyRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_GenerateDataKeyWithoutPlaintextResponse {
        let result = try await self.keys.generateDataKeyWithoutPlaintext(
            keyID: request.keyID, keySpec: try await self.keySpec(request.keySpec, .generateDataKeyWithoutPlaintext, context),
            numberOfBytes: request.numberOfBytes == 0 ? nil : Int(request.numberOfBytes),
            encryptionContext: request.encryptionContext, grantTokens: request.grantTokens, caller: try self.caller(context))
        return .with {
            $0.ciphertextBlob = Data(result.ciphertextBlob)
            $0.keyID = result.keyARN
        }
    }

    public func generateRandom(
        request: Keylake_Kms_V1_GenerateRandomRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_GenerateRandomResponse {
        let bytes = try await self.keys.generateRandom(numberOfBytes: Int(request.numberOfBytes), caller: try self.caller(context))
        return .with { $0.plaintext = Data(bytes) }
    }

    // MARK: - Grants

    public func createGrant(request: Keylake_Kms_V1_CreateGrantRequest, context: ServerContext) async throws -> Keylake_Kms_V1_CreateGrantResponse {
        let result = try await self.keys.createGrant(
            CreateGrantRequest(
                keyID: request.keyID,
                granteePrincipal: request.granteePrincipal,
                retiringPrincipal: Self.optional(request.retiringPrincipal),
                operations: request.operations,
                constraints: request.hasConstraints ? Self.domain(request.constraints) : GrantConstraints(),
                name: Self.optional(request.name),
                grantTokens: request.grantTokens),
            caller: try self.caller(context))
        return .with {
            $0.grantID = result.grantID
            $0.grantToken = result.grantToken
        }
    }

    public func listGrants(request: Keylake_Kms_V1_ListGrantsRequest, context: ServerContext) async throws -> Keylake_Kms_V1_ListGrantsResponse {
        let page = try await self.keys.listGrants(
            keyID: request.keyID, grantID: Self.optional(request.grantID), granteePrincipal: Self.optional(request.granteePrincipal),
            limit: Self.limit(request.limit), marker: Self.optional(request.marker), caller: try self.caller(context))
        return Self.wire(page, identity: self.keys.configuration.identity)
    }

    public func listRetirableGrants(
        request: Keylake_Kms_V1_ListRetirableGrantsRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_ListGrantsResponse {
        let page = try await self.keys.listRetirableGrants(
            retiringPrincipal: request.retiringPrincipal, limit: Self.limit(request.limit),
            marker: Self.optional(request.marker), caller: try self.caller(context))
        return Self.wire(page, identity: self.keys.configuration.identity)
    }

    public func retireGrant(request: Keylake_Kms_V1_RetireGrantRequest, context: ServerContext) async throws -> Keylake_Kms_V1_RetireGrantResponse {
        try await self.keys.retireGrant(
            grantToken: Self.optional(request.grantToken), keyID: Self.optional(request.keyID),
            grantID: Self.optional(request.grantID), caller: try self.caller(context))
        return .init()
    }

    public func revokeGrant(request: Keylake_Kms_V1_RevokeGrantRequest, context: ServerContext) async throws -> Keylake_Kms_V1_RevokeGrantResponse {
        try await self.keys.revokeGrant(keyID: request.keyID, grantID: request.grantID, caller: try self.caller(context))
        return .init()
    }

    // MARK: - Audit

    public func lookupEvents(request: Keylake_Kms_V1_LookupEventsRequest, context: ServerContext) async throws -> Keylake_Kms_V1_LookupEventsResponse {
        let filter: AuditLookupFilter
        do {
            filter = try Self.filter(request)
        } catch let error as KMSError {
            try await self.keys.refuse(.lookupEvents, error, caller: try self.caller(context))
        }
        let page = try await self.keys.lookupEvents(
            filter, maxResults: Self.limit(request.maxResults), nextToken: Self.optional(request.nextToken),
            caller: try self.caller(context))
        return .with { response in
            response.events = page.events.map { event in
                .with {
                    $0.eventID = event.eventID
                    $0.eventName = event.eventName
                    $0.eventTime = Self.seconds(event.eventTime)
                    $0.username = event.principal
                    $0.cloudTrailEvent = event.document
                }
            }
            response.nextToken = page.nextToken ?? ""
        }
    }

    /// The lookup filter of a request.
    ///
    /// - Throws: `ValidationException` for an unsupported attribute or a resource that is no key.
    static func filter(_ request: Keylake_Kms_V1_LookupEventsRequest) throws -> AuditLookupFilter {
        var filter = AuditLookupFilter()
        for attribute in request.lookupAttributes {
            switch attribute.attributeKey {
            case "EventName": filter.eventName = attribute.attributeValue
            case "Username": filter.principal = attribute.attributeValue
            case "EventId": filter.eventID = attribute.attributeValue
            case "ResourceName":
                let value = attribute.attributeValue
                let id = value.split(separator: "/").last.map(String.init) ?? value
                guard let keyID = KeyID(id) else {
                    throw KMSError(code: .validation, message: "ResourceName must be a key id or key ARN")
                }
                filter.keyID = keyID
            default:
                throw KMSError(
                    code: .validation,
                    message: "unsupported lookup attribute \"\(attribute.attributeKey.prefix(64))\"; use EventName, ResourceName, Username or EventId")
            }
        }
        if request.startTime > 0 { filter.startTime = Date(timeIntervalSince1970: TimeInterval(request.startTime)) }
        if request.endTime > 0 { filter.endTime = Date(timeIntervalSince1970: TimeInterval(request.endTime)) }
        return filter
    }

    /// Verifies the whole trail. The same authorization as LookupEvents applies (an audit read).
    public func verifyAuditChain(
        request: Keylake_Kms_V1_VerifyAuditChainRequest, context: ServerContext
    ) async throws -> Keylake_Kms_V1_VerifyAuditChainResponse {
        // Authorize (and audit) as a lookup of one event, then verify.
        _ = try await self.keys.lookupEvents(AuditLookupFilter(), maxResults: 1, caller: try self.caller(context))
        let verification = try self.keys.auditTrail.verifyChain()
        return .with { response in
            switch verification {
            case .intact(let count):
                response.valid = true
                response.eventsChecked = Int64(count)
            case .broken(let sequence, let reason):
                response.valid = false
                response.firstBadSequence = sequence
                response.problem = reason
            }
        }
    }

    // MARK: - Conversions

    static func wire(_ metadata: KeyMetadata) -> Keylake_Kms_V1_KeyMetadata {
        .with {
            $0.keyID = metadata.keyID.description
            $0.arn = metadata.arn
            $0.awsAccountID = metadata.arn.split(separator: ":").dropFirst(4).first.map(String.init) ?? ""
            $0.creationDate = Self.seconds(metadata.creationDate)
            $0.enabled = metadata.isEnabled
            $0.description_p = metadata.description
            $0.keyUsage = metadata.keyUsage
            $0.keyState = Self.wire(metadata.state)
            $0.deletionDate = metadata.deletionDate.map(Self.seconds) ?? 0
            $0.origin = metadata.origin
            $0.keyManager = metadata.kind == .customerManaged ? .customer : .service
            $0.keySpec = metadata.keySpec
            $0.encryptionAlgorithms = ["SYMMETRIC_DEFAULT"]
            $0.currentKeyMaterialID = String(metadata.currentMaterialVersion)
        }
    }

    static func wire(_ state: KeyState) -> Keylake_Kms_V1_KeyState {
        switch state {
        case .enabled: .enabled
        case .disabled: .disabled
        case .pendingDeletion: .pendingDeletion
        }
    }

    /// Grants as AWS lists them: `KeyId` the key's ARN, `IssuingAccount` the account's root ARN.
    static func wire(_ page: Page<Grant>, identity: KeyServiceIdentity) -> Keylake_Kms_V1_ListGrantsResponse {
        .with { response in
            response.grants = page.entries.map { grant in
                .with {
                    $0.keyID = identity.keyARN(grant.keyID)
                    $0.grantID = grant.grantID
                    $0.name = grant.name ?? ""
                    $0.creationDate = Self.seconds(grant.creationDate)
                    $0.granteePrincipal = grant.granteePrincipal
                    $0.retiringPrincipal = grant.retiringPrincipal ?? ""
                    $0.issuingAccount =
                        grant.issuingAccount.hasPrefix("arn:")
                        ? grant.issuingAccount : "arn:\(identity.partition):iam::\(grant.issuingAccount):root"
                    $0.operations = grant.operations.map(\.rawValue)
                    if !grant.constraints.isEmpty {
                        $0.constraints = .with { constraints in
                            constraints.encryptionContextSubset = grant.constraints.encryptionContextSubset ?? [:]
                            constraints.encryptionContextEquals = grant.constraints.encryptionContextEquals ?? [:]
                        }
                    }
                }
            }
            response.nextMarker = page.nextMarker ?? ""
            response.truncated = page.truncated
        }
    }

    static func domain(_ constraints: Keylake_Kms_V1_GrantConstraints) -> GrantConstraints {
        GrantConstraints(
            encryptionContextSubset: constraints.encryptionContextSubset.isEmpty ? nil : constraints.encryptionContextSubset,
            encryptionContextEquals: constraints.encryptionContextEquals.isEmpty ? nil : constraints.encryptionContextEquals)
    }

    /// The data-key spec of a request; an unknown one is refused and audited.
    private func keySpec(_ text: String, _ operation: KMSOperation, _ context: ServerContext) async throws -> DataKeySpec? {
        guard !text.isEmpty else { return nil }
        guard let spec = DataKeySpec(rawValue: text) else {
            try await self.keys.refuse(
                operation, KMSError(code: .validation, message: "KeySpec must be AES_256 or AES_128"), caller: try self.caller(context))
        }
        return spec
    }

    static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }
    static func optional(_ text: String) -> String? { text.isEmpty ? nil : text }
    static func limit(_ value: Int32) -> Int? { value == 0 ? nil : Int(value) }
}

/// One key service API operation, named as AWS KMS names it (the audit `eventName`).
public enum KMSOperation: String, Hashable, Sendable, CaseIterable {
    case createKey = "CreateKey"
    case describeKey = "DescribeKey"
    case listKeys = "ListKeys"
    case enableKey = "EnableKey"
    case disableKey = "DisableKey"
    case updateKeyDescription = "UpdateKeyDescription"
    case scheduleKeyDeletion = "ScheduleKeyDeletion"
    case cancelKeyDeletion = "CancelKeyDeletion"
    case enableKeyRotation = "EnableKeyRotation"
    case disableKeyRotation = "DisableKeyRotation"
    case getKeyRotationStatus = "GetKeyRotationStatus"
    case rotateKeyOnDemand = "RotateKeyOnDemand"
    case listKeyRotations = "ListKeyRotations"
    case createAlias = "CreateAlias"
    case updateAlias = "UpdateAlias"
    case deleteAlias = "DeleteAlias"
    case listAliases = "ListAliases"
    case tagResource = "TagResource"
    case untagResource = "UntagResource"
    case listResourceTags = "ListResourceTags"
    case putKeyPolicy = "PutKeyPolicy"
    case getKeyPolicy = "GetKeyPolicy"
    case listKeyPolicies = "ListKeyPolicies"
    case encrypt = "Encrypt"
    case decrypt = "Decrypt"
    case reEncrypt = "ReEncrypt"
    case generateDataKey = "GenerateDataKey"
    case generateDataKeyWithoutPlaintext = "GenerateDataKeyWithoutPlaintext"
    case generateRandom = "GenerateRandom"
    case createGrant = "CreateGrant"
    case listGrants = "ListGrants"
    case listRetirableGrants = "ListRetirableGrants"
    case retireGrant = "RetireGrant"
    case revokeGrant = "RevokeGrant"
    case lookupEvents = "LookupEvents"

    /// The policy action, such as `kms:Encrypt`. `ReEncrypt` is authorised as `kms:ReEncryptFrom`
    /// on the source key and `kms:ReEncryptTo` on the destination; this returns the former.
    public var action: String {
        switch self {
        case .reEncrypt: "kms:ReEncryptFrom"
        case .lookupEvents: "cloudtrail:LookupEvents"
        default: "kms:\(self.rawValue)"
        }
    }

    /// Whether CloudTrail marks the event read-only: it changes no state.
    public var isReadOnly: Bool {
        switch self {
        case .describeKey, .listKeys, .getKeyRotationStatus, .listKeyRotations, .listAliases, .listResourceTags,
            .getKeyPolicy, .listKeyPolicies, .encrypt, .decrypt, .reEncrypt, .generateDataKey,
            .generateDataKeyWithoutPlaintext, .generateRandom, .listGrants, .listRetirableGrants, .lookupEvents:
            true
        default:
            false
        }
    }

    /// The audit `eventSource`.
    public var eventSource: String {
        self == .lookupEvents ? "cloudtrail.amazonaws.com" : "kms.amazonaws.com"
    }

    /// Whether the operation uses key material, and so must be audited durably before it answers.
    public var isCryptographic: Bool {
        switch self {
        case .encrypt, .decrypt, .reEncrypt, .generateDataKey, .generateDataKeyWithoutPlaintext: true
        default: false
        }
    }

    /// The error a key in `state` gives this operation, or `nil` when the state allows it.
    ///
    /// This is the AWS KMS key-state table for symmetric customer-managed keys:
    /// - cryptographic operations, `CreateGrant`, `EnableKeyRotation`, `DisableKeyRotation` and
    ///   `RotateKeyOnDemand`: `Disabled` → `DisabledException`, `PendingDeletion` →
    ///   `KMSInvalidStateException`;
    /// - `EnableKey`, `DisableKey`, `ScheduleKeyDeletion`, `UpdateKeyDescription`, `TagResource`,
    ///   `UntagResource`, `CreateAlias`, `UpdateAlias`: `PendingDeletion` →
    ///   `KMSInvalidStateException`;
    /// - `CancelKeyDeletion`: anything but `PendingDeletion` → `KMSInvalidStateException`;
    /// - everything else (describe, list, get, put policy, retire and revoke grants, delete
    ///   alias): allowed in every state.
    public func keyStateError(_ state: KeyState) -> KMSError.Code? {
        switch self {
        case .encrypt, .decrypt, .reEncrypt, .generateDataKey, .generateDataKeyWithoutPlaintext, .createGrant,
            .enableKeyRotation, .disableKeyRotation, .rotateKeyOnDemand:
            switch state {
            case .enabled: return nil
            case .disabled: return .disabled
            case .pendingDeletion: return .invalidState
            }
        case .enableKey, .disableKey, .scheduleKeyDeletion, .updateKeyDescription, .tagResource, .untagResource,
            .createAlias, .updateAlias:
            return state == .pendingDeletion ? .invalidState : nil
        case .cancelKeyDeletion:
            return state == .pendingDeletion ? nil : .invalidState
        default:
            return nil
        }
    }

    /// Checks ``keyStateError(_:)`` and throws it with a message naming the key.
    func checkKeyState(_ key: KeyMetadata) throws {
        guard let code = self.keyStateError(key.state) else { return }
        throw KMSError(code: code, message: "\(key.arn) is \(key.state.rawValue)")
    }
}

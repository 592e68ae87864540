/// A condition key this key service understands.
///
/// Condition key names are case-insensitive, as in AWS. Keys outside this set are rejected when
/// a policy is parsed rather than silently treated as absent: a `Deny` that names an unknown key
/// would otherwise never apply, which fails open.
public enum ConditionKey: Hashable, Sendable, CustomStringConvertible {
    /// `kms:ViaService`: the service principal that called on the caller's behalf.
    case viaService
    /// `kms:CallerAccount`: the caller's account id.
    case callerAccount
    /// `kms:EncryptionContext:<key>`: the value of one encryption context pair. The `<key>` part
    /// is matched case-insensitively (condition key names are); the value per the operator.
    case encryptionContext(String)
    /// `kms:EncryptionContextKeys`: the encryption context's keys (multi-valued).
    case encryptionContextKeys
    /// `kms:GrantOperations`: the operations a `CreateGrant` request asks for (multi-valued).
    case grantOperations
    /// `kms:GrantIsForAWSResource`: whether a grant request comes through an integrated service.
    case grantIsForAWSResource
    /// `kms:GranteePrincipal`: the grantee named in a `CreateGrant` request.
    case granteePrincipal
    /// `kms:RetiringPrincipal`: the retiring principal named in a `CreateGrant` request.
    case retiringPrincipal
    /// `aws:PrincipalArn`: the caller's principal.
    case principalARN
    /// `aws:PrincipalAccount`: the caller's account id.
    case principalAccount

    private static let encryptionContextPrefix = "kms:encryptioncontext:"

    /// Parses a key name; `nil` if the key is not supported.
    public init?(name: String) {
        let lowered = name.lowercased()
        switch lowered {
        case "kms:viaservice": self = .viaService
        case "kms:calleraccount": self = .callerAccount
        case "kms:encryptioncontextkeys": self = .encryptionContextKeys
        case "kms:grantoperations": self = .grantOperations
        case "kms:grantisforawsresource": self = .grantIsForAWSResource
        case "kms:granteeprincipal": self = .granteePrincipal
        case "kms:retiringprincipal": self = .retiringPrincipal
        case "aws:principalarn": self = .principalARN
        case "aws:principalaccount": self = .principalAccount
        default:
            guard lowered.hasPrefix(Self.encryptionContextPrefix) else { return nil }
            let contextKey = String(name.dropFirst(Self.encryptionContextPrefix.count))
            guard !contextKey.isEmpty else { return nil }
            self = .encryptionContext(contextKey)
        }
    }

    /// Whether the key can carry several values in one request.
    public var isMultiValued: Bool {
        self == .encryptionContextKeys || self == .grantOperations
    }

    /// The key's canonical name.
    public var description: String {
        switch self {
        case .viaService: "kms:ViaService"
        case .callerAccount: "kms:CallerAccount"
        case .encryptionContext(let key): "kms:EncryptionContext:\(key)"
        case .encryptionContextKeys: "kms:EncryptionContextKeys"
        case .grantOperations: "kms:GrantOperations"
        case .grantIsForAWSResource: "kms:GrantIsForAWSResource"
        case .granteePrincipal: "kms:GranteePrincipal"
        case .retiringPrincipal: "kms:RetiringPrincipal"
        case .principalARN: "aws:PrincipalArn"
        case .principalAccount: "aws:PrincipalAccount"
        }
    }
}

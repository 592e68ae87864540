/// What a key policy is evaluated against: who asks to do what to which key, and how.
public struct PolicyRequestContext: Hashable, Sendable {
    /// The caller: an IAM ARN or a service principal, from the verified client certificate or,
    /// for a call on behalf of a user, the user named by a registered service.
    public var principal: String
    /// The caller's account, parsed from ``principal``; `nil` for service principals.
    /// Populates `kms:CallerAccount` and `aws:PrincipalAccount`.
    public var callerAccount: String?
    /// The action, such as `kms:GenerateDataKey`.
    public var action: String
    /// The key's ARN.
    public var resource: String
    /// The service principal that called on the caller's behalf (`kms:ViaService`), if any.
    public var viaService: String?
    /// The request's encryption context (`kms:EncryptionContext:<key>`, `kms:EncryptionContextKeys`).
    public var encryptionContext: EncryptionContext
    /// For `CreateGrant`: the operations requested (`kms:GrantOperations`).
    public var grantOperations: [String]?
    /// For `CreateGrant`: whether it comes through an integrated service (`kms:GrantIsForAWSResource`).
    public var grantIsForAWSResource: Bool?
    /// For `CreateGrant`: the grantee (`kms:GranteePrincipal`).
    public var granteePrincipal: String?
    /// For `CreateGrant`: the retiring principal (`kms:RetiringPrincipal`).
    public var retiringPrincipal: String?

    /// Creates a request context; ``callerAccount`` is derived from `principal`.
    public init(
        principal: String,
        action: String,
        resource: String,
        viaService: String? = nil,
        encryptionContext: EncryptionContext = [:],
        grantOperations: [String]? = nil,
        grantIsForAWSResource: Bool? = nil,
        granteePrincipal: String? = nil,
        retiringPrincipal: String? = nil
    ) {
        self.principal = principal
        self.callerAccount = AccountID.of(principal: principal)
        self.action = action
        self.resource = resource
        self.viaService = viaService
        self.encryptionContext = encryptionContext
        self.grantOperations = grantOperations
        self.grantIsForAWSResource = grantIsForAWSResource
        self.granteePrincipal = granteePrincipal
        self.retiringPrincipal = retiringPrincipal
    }

    /// The request's values for a condition key, or `nil` when the key is absent.
    ///
    /// Empty multi-valued keys count as absent, as in AWS (an empty encryption context has no
    /// `kms:EncryptionContextKeys`).
    func values(for key: ConditionKey) -> [String]? {
        func nonEmpty(_ values: [String]?) -> [String]? {
            guard let values, !values.isEmpty else { return nil }
            return values
        }
        switch key {
        case .viaService: return self.viaService.map { [$0] }
        case .callerAccount, .principalAccount: return self.callerAccount.map { [$0] }
        case .principalARN: return [self.principal]
        case .encryptionContext(let contextKey):
            let wanted = contextKey.lowercased()
            return nonEmpty(self.encryptionContext.pairs.filter { $0.key.lowercased() == wanted }.map(\.value).sorted())
        case .encryptionContextKeys: return nonEmpty(self.encryptionContext.pairs.keys.sorted())
        case .grantOperations: return nonEmpty(self.grantOperations)
        case .grantIsForAWSResource: return self.grantIsForAWSResource.map { [$0 ? "true" : "false"] }
        case .granteePrincipal: return self.granteePrincipal.map { [$0] }
        case .retiringPrincipal: return self.retiringPrincipal.map { [$0] }
        }
    }
}

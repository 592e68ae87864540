/// How a ``KeyService`` is set up: where it lives, which peers are services, and its limits.
public struct KeyServiceConfiguration: Sendable {
    /// Partition, region and account for ARNs and audit events.
    public var identity: KeyServiceIdentity
    /// Principals that may call on behalf of a user (`onBehalfOf`) and own service-owned keys,
    /// such as `healthlake.amazonaws.com`.
    public var servicePrincipals: Set<String>
    /// Per service principal, the operations it may perform on behalf of another principal;
    /// a service not listed here gets ``dataServiceOnBehalfOfOperations``.
    public var onBehalfOfOperationsByService: [String: Set<KMSOperation>]
    /// The stand-in for IAM policies: decides the calls that name no key (`CreateKey`,
    /// `ListKeys`, `ListAliases`, `GenerateRandom`, `ListRetirableGrants`, and
    /// `cloudtrail:LookupEvents`), evaluated with resource `*`.
    /// Default: ``defaultAccountPolicy(identity:)``.
    public var accountPolicy: KeyPolicy
    /// How key policies are evaluated.
    public var policyEvaluation: PolicyEvaluationSettings
    /// Operation limits.
    public var limits: KeyServiceLimits
    /// Ciphertext, plaintext and encryption context limits.
    public var ciphertextLimits: CiphertextLimits
    /// Key store limits (description length).
    public var keyStoreLimits: KeyStoreLimits

    /// Creates a configuration; ``accountPolicy`` defaults to ``defaultAccountPolicy(identity:)``.
    public init(
        identity: KeyServiceIdentity,
        servicePrincipals: Set<String> = [],
        onBehalfOfOperationsByService: [String: Set<KMSOperation>] = [:],
        accountPolicy: KeyPolicy? = nil,
        policyEvaluation: PolicyEvaluationSettings = PolicyEvaluationSettings(),
        limits: KeyServiceLimits = KeyServiceLimits(),
        ciphertextLimits: CiphertextLimits = CiphertextLimits(),
        keyStoreLimits: KeyStoreLimits = KeyStoreLimits()
    ) {
        self.identity = identity
        self.servicePrincipals = servicePrincipals
        self.onBehalfOfOperationsByService = onBehalfOfOperationsByService
        self.accountPolicy = accountPolicy ?? Self.defaultAccountPolicy(identity: identity)
        self.policyEvaluation = policyEvaluation
        self.limits = limits
        self.ciphertextLimits = ciphertextLimits
        self.keyStoreLimits = keyStoreLimits
    }

    /// What a data service (HealthLake) forwards for its callers: describing a key, creating and
    /// retiring its own grants, and data-key cryptography. No key administration: a compromised
    /// data service cannot disable, delete, re-policy or re-grant keys in a user's name.
    public static let dataServiceOnBehalfOfOperations: Set<KMSOperation> = [
        .describeKey, .createGrant, .retireGrant, .generateDataKey, .generateDataKeyWithoutPlaintext, .decrypt, .reEncrypt,
        .encrypt,
    ]

    /// The operations `service` may perform on behalf of another principal (none for a principal
    /// that is not a registered service).
    public func onBehalfOfOperations(of service: String) -> Set<KMSOperation> {
        guard self.servicePrincipals.contains(service) else { return [] }
        return self.onBehalfOfOperationsByService[service] ?? Self.dataServiceOnBehalfOfOperations
    }

    /// The account root may do everything; every principal of the account may list keys and
    /// aliases, list the grants it can retire, and generate random bytes.
    public static func defaultAccountPolicy(identity: KeyServiceIdentity) -> KeyPolicy {
        let account = identity.accountID
        let partition = identity.partition
        let document = """
            {
              "Version": "2012-10-17",
              "Id": "keylake-account-policy-1",
              "Statement": [
                {
                  "Sid": "AccountRootAdministers",
                  "Effect": "Allow",
                  "Principal": {"AWS": "arn:\(partition):iam::\(account):root"},
                  "Action": ["kms:*", "cloudtrail:LookupEvents"],
                  "Resource": "*"
                },
                {
                  "Sid": "AccountPrincipalsList",
                  "Effect": "Allow",
                  "Principal": {"AWS": "*"},
                  "Action": ["kms:ListKeys", "kms:ListAliases", "kms:ListRetirableGrants", "kms:GenerateRandom"],
                  "Resource": "*",
                  "Condition": {"StringEquals": {"kms:CallerAccount": "\(account)"}}
                }
              ]
            }
            """
        do {
            return try KeyPolicy(parsing: document)
        } catch {
            preconditionFailure("the default account policy must parse: \(error)")
        }
    }
}

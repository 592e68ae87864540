/// How a ``KeyService`` is set up: where it lives, which peers are services, and its limits.
public struct KeyServiceConfiguration: Sendable {
    /// Partition, region and account for ARNs and audit events.
    public var identity: KeyServiceIdentity
    /// Principals that may call on behalf of a user (`onBehalfOf`) and own service-owned keys,
    /// such as `healthlake.amazonaws.com`.
    public var servicePrincipals: Set<String>
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
        accountPolicy: KeyPolicy? = nil,
        policyEvaluation: PolicyEvaluationSettings = PolicyEvaluationSettings(),
        limits: KeyServiceLimits = KeyServiceLimits(),
        ciphertextLimits: CiphertextLimits = CiphertextLimits(),
        keyStoreLimits: KeyStoreLimits = KeyStoreLimits()
    ) {
        self.identity = identity
        self.servicePrincipals = servicePrincipals
        self.accountPolicy = accountPolicy ?? Self.defaultAccountPolicy(identity: identity)
        self.policyEvaluation = policyEvaluation
        self.limits = limits
        self.ciphertextLimits = ciphertextLimits
        self.keyStoreLimits = keyStoreLimits
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

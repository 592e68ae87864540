/// One statement of a key policy.
public struct PolicyStatement: Hashable, Sendable {
    /// The optional statement id, reported in decisions and audit events.
    public var sid: String?
    /// Allow or Deny.
    public var effect: PolicyEffect
    /// Who the statement is about.
    public var principals: PolicyPrincipals
    /// Action patterns such as `kms:Encrypt`, `kms:GenerateDataKey*` or `kms:*`; case-insensitive.
    public var actions: [String]
    /// Resource patterns: `*` or a key ARN, possibly with wildcards; case-sensitive.
    public var resources: [String]
    /// Conditions that must all hold.
    public var conditions: [PolicyCondition]

    let actionPatterns: [WildcardPattern]
    let resourcePatterns: [WildcardPattern]

    /// Creates a statement.
    public init(
        sid: String? = nil,
        effect: PolicyEffect,
        principals: PolicyPrincipals,
        actions: [String],
        resources: [String] = ["*"],
        conditions: [PolicyCondition] = []
    ) {
        self.sid = sid
        self.effect = effect
        self.principals = principals
        self.actions = actions
        self.resources = resources
        self.conditions = conditions
        self.actionPatterns = actions.map { WildcardPattern($0, caseInsensitive: true) }
        self.resourcePatterns = resources.map { WildcardPattern($0, caseInsensitive: false) }
    }
}

/// Settings that change how key policies are evaluated.
public struct PolicyEvaluationSettings: Hashable, Sendable {
    /// Whether an account-root principal (`"AWS": "arn:aws:iam::111122223333:root"` or
    /// `"AWS": "111122223333"`) matches every principal of that account. Default `false`.
    ///
    /// In AWS, the root statement delegates to IAM: every principal of the account whose IAM
    /// policies allow it may use the key. Keylake has no IAM, so honouring that literally would
    /// give every role of the account every action, and the seed document's demonstration (the
    /// HealthLake role may use the key only through HealthLake) would fail.
    ///
    /// - `false` (default): an account-root entry matches only the principal that *is* the
    ///   account root, `arn:<partition>:iam::<account>:root`: the key administrator identity
    ///   must be named explicitly, and every other principal needs its own statement or a grant.
    /// - `true`: an account-root entry matches any principal whose ARN carries that account id,
    ///   as if every principal's IAM policy allowed everything. Only for single-tenant test setups.
    public var accountRootGrantsAccountPrincipals: Bool

    /// Creates settings; every argument has the documented default.
    public init(accountRootGrantsAccountPrincipals: Bool = false) {
        self.accountRootGrantsAccountPrincipals = accountRootGrantsAccountPrincipals
    }
}

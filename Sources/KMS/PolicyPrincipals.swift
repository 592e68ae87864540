/// The `Principal` element of a statement: who the statement is about.
public struct PolicyPrincipals: Hashable, Sendable {
    /// One entry of `"Principal": {"AWS": …}`.
    public enum AWSEntry: Hashable, Sendable {
        /// `"123456789012"` or `"arn:aws:iam::123456789012:root"`: the account root. Which
        /// principals this matches depends on
        /// ``PolicyEvaluationSettings/accountRootGrantsAccountPrincipals``.
        case accountRoot(accountID: String)
        /// Any other IAM ARN (role, user, assumed role); matches that exact principal.
        case arn(String)
    }

    /// `"Principal": "*"` or `{"AWS": "*"}`: every principal.
    public var matchesEveryone: Bool
    /// The `AWS` entries.
    public var aws: [AWSEntry]
    /// The `Service` entries, such as `healthlake.amazonaws.com`.
    public var services: [String]

    /// Creates a principal element.
    public init(matchesEveryone: Bool = false, aws: [AWSEntry] = [], services: [String] = []) {
        self.matchesEveryone = matchesEveryone
        self.aws = aws
        self.services = services
    }
}

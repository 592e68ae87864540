/// Decides whether a key policy allows a request.
///
/// A statement applies when its principal, action, resource and every condition match. Then:
/// any applying `Deny` wins; otherwise any applying `Allow` allows; otherwise the request is
/// implicitly denied. Evaluation is pure and does no I/O.
public struct PolicyEvaluator: Sendable {
    /// The evaluation settings.
    public var settings: PolicyEvaluationSettings

    /// Creates an evaluator.
    public init(settings: PolicyEvaluationSettings = PolicyEvaluationSettings()) {
        self.settings = settings
    }

    /// Evaluates `policy` for `request`.
    public func evaluate(_ policy: KeyPolicy, for request: PolicyRequestContext) -> PolicyDecision {
        var allowingStatement: PolicyStatement?
        for statement in policy.statements where self.applies(statement, to: request) {
            switch statement.effect {
            case .deny:
                return .explicitlyDenied(statementID: statement.sid)
            case .allow:
                if allowingStatement == nil { allowingStatement = statement }
            }
        }
        if let allowingStatement {
            return .allowed(statementID: allowingStatement.sid)
        }
        return .implicitlyDenied
    }

    /// Whether one statement applies to the request, whatever its effect.
    public func applies(_ statement: PolicyStatement, to request: PolicyRequestContext) -> Bool {
        self.principalMatches(statement.principals, request.principal)
            && statement.actionPatterns.contains { $0.matches(request.action) }
            && statement.resourcePatterns.contains { $0.matches(request.resource) }
            && statement.conditions.allSatisfy { self.holds($0, for: request) }
    }

    /// Whether `principal` is an assumed-role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`)
    /// of the role `role` (`arn:aws:iam::ACCOUNT:role/[PATH/]ROLE`): as in IAM, a statement naming
    /// a role applies to every session of it.
    static func isSession(_ principal: String, of role: String) -> Bool {
        guard let session = ParsedARN(principal), session.service == "sts", session.resource.hasPrefix("assumed-role/"),
            let roleARN = ParsedARN(role), roleARN.service == "iam", roleARN.resource.hasPrefix("role/"),
            session.partition == roleARN.partition, session.account == roleARN.account
        else { return false }
        let sessionParts = session.resource.split(separator: "/", omittingEmptySubsequences: false)
        guard sessionParts.count == 3 else { return false }
        return roleARN.resource.split(separator: "/", omittingEmptySubsequences: false).last == sessionParts[1]
    }

    func principalMatches(_ principals: PolicyPrincipals, _ principal: String) -> Bool {
        if principals.matchesEveryone { return true }
        for entry in principals.aws {
            switch entry {
            case .arn(let arn):
                if arn == principal || Self.isSession(principal, of: arn) { return true }
            case .accountRoot(let accountID):
                if self.settings.accountRootGrantsAccountPrincipals {
                    if AccountID.of(principal: principal) == accountID { return true }
                } else if let arn = ParsedARN(principal), arn.service == "iam", arn.region.isEmpty,
                    arn.account == accountID, arn.resource == "root"
                {
                    return true
                }
            }
        }
        let lowered = principal.lowercased()
        return principals.services.contains { $0.lowercased() == lowered }
    }
}

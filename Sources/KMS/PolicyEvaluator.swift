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

    func principalMatches(_ principals: PolicyPrincipals, _ principal: String) -> Bool {
        if principals.matchesEveryone { return true }
        for entry in principals.aws {
            switch entry {
            case .arn(let arn):
                if arn == principal { return true }
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

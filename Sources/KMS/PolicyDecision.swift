/// The outcome of evaluating a key policy for one request.
public enum PolicyDecision: Hashable, Sendable {
    /// A statement allowed the request and none denied it. Carries the allowing statement's `Sid`.
    case allowed(statementID: String?)
    /// A statement explicitly denied the request; nothing can override this.
    case explicitlyDenied(statementID: String?)
    /// No statement applied; the request is denied unless a grant allows it.
    case implicitlyDenied

    /// Whether the request may proceed on the strength of the policy alone.
    public var isAllowed: Bool {
        if case .allowed = self { return true }
        return false
    }
}

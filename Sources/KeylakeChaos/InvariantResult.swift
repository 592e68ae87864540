/// The verdict on one invariant.
public struct InvariantResult: Codable, Sendable, Hashable {
    /// Which invariant.
    public var invariant: Invariant
    /// Its short name.
    public var name: String
    /// Whether it applies to the scenario; one that does not apply passes.
    public var applies: Bool
    /// Whether it holds.
    public var passed: Bool
    /// What was checked (counts, bounds), for people.
    public var detail: String
    /// Everything that broke it.
    public var violations: [InvariantViolation]

    /// A result; `passed` is true exactly when there is no violation.
    public init(invariant: Invariant, applies: Bool, detail: String, violations: [InvariantViolation]) {
        self.invariant = invariant
        self.name = invariant.name
        self.applies = applies
        self.passed = violations.isEmpty
        self.detail = detail
        self.violations = violations
    }
}

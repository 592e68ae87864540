/// One `"Operator": {"key": values}` test inside a statement's `Condition` block.
///
/// A statement applies only when all its conditions hold; one condition holds when the request's
/// value(s) for ``key`` satisfy ``operator`` against any of ``values``.
public struct PolicyCondition: Hashable, Sendable {
    /// The operator.
    public var `operator`: ConditionOperator
    /// The condition key.
    public var key: ConditionKey
    /// The policy values (booleans and numbers are kept in their JSON text form).
    public var values: [String]

    /// Creates a condition.
    public init(operator: ConditionOperator, key: ConditionKey, values: [String]) {
        self.operator = `operator`
        self.key = key
        self.values = values
    }
}

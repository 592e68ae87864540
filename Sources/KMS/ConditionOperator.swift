/// A condition operator such as `StringEquals`, `ForAnyValue:StringLike` or `BoolIfExists`.
public struct ConditionOperator: Hashable, Sendable, CustomStringConvertible {
    /// The comparison itself.
    public enum Comparison: String, Hashable, Sendable, CaseIterable {
        /// Exact, case-sensitive string equality.
        case stringEquals = "StringEquals"
        /// Negation of `StringEquals`.
        case stringNotEquals = "StringNotEquals"
        /// Case-insensitive string equality.
        case stringEqualsIgnoreCase = "StringEqualsIgnoreCase"
        /// Case-sensitive match with `*` and `?` wildcards in the policy value.
        case stringLike = "StringLike"
        /// Negation of `StringLike`.
        case stringNotLike = "StringNotLike"
        /// Boolean equality; policy values are `true` or `false`.
        case bool = "Bool"

        /// Whether the comparison is a negation, which changes how an absent key evaluates.
        var isNegated: Bool { self == .stringNotEquals || self == .stringNotLike }
    }

    /// How a multi-valued request key is compared with the policy values.
    public enum SetQualifier: String, Hashable, Sendable {
        /// No qualifier: a single-valued comparison; on a multi-valued key, any value may satisfy it.
        case none = ""
        /// `ForAnyValue:`: at least one request value satisfies the comparison; an absent key fails.
        case forAnyValue = "ForAnyValue:"
        /// `ForAllValues:`: every request value satisfies the comparison; an absent key passes.
        case forAllValues = "ForAllValues:"
    }

    /// The comparison.
    public var comparison: Comparison
    /// The set qualifier prefix.
    public var qualifier: SetQualifier
    /// The `IfExists` suffix: the condition passes when the key is absent from the request.
    public var ifExists: Bool

    /// Creates an operator.
    public init(comparison: Comparison, qualifier: SetQualifier = .none, ifExists: Bool = false) {
        self.comparison = comparison
        self.qualifier = qualifier
        self.ifExists = ifExists
    }

    /// Parses an operator name as written in a policy; `nil` if it is not supported.
    /// Operator names are case-sensitive, as in AWS.
    public init?(name: String) {
        var rest = Substring(name)
        var qualifier = SetQualifier.none
        for candidate in [SetQualifier.forAnyValue, .forAllValues] where rest.hasPrefix(candidate.rawValue) {
            qualifier = candidate
            rest = rest.dropFirst(candidate.rawValue.count)
        }
        var ifExists = false
        if rest.hasSuffix("IfExists") {
            ifExists = true
            rest = rest.dropLast("IfExists".count)
        }
        guard let comparison = Comparison(rawValue: String(rest)) else { return nil }
        self.init(comparison: comparison, qualifier: qualifier, ifExists: ifExists)
    }

    /// The operator as written in a policy.
    public var description: String {
        self.qualifier.rawValue + self.comparison.rawValue + (self.ifExists ? "IfExists" : "")
    }
}

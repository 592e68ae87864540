extension PolicyEvaluator {
    /// Whether one condition holds for the request.
    ///
    /// Absent keys: with `IfExists` the condition holds; with `ForAllValues:` it holds (vacuous
    /// truth, as in AWS: pair it with a positive check if that is not wanted); with
    /// `ForAnyValue:` it fails; with no qualifier it fails for positive comparisons and holds for
    /// negated ones (`StringNotEquals`, `StringNotLike`), as AWS documents.
    ///
    /// Present keys: a positive comparison is satisfied by a request value when it matches any
    /// policy value; a negated one when it matches none. `ForAllValues:` needs every request value
    /// to satisfy it; no qualifier and `ForAnyValue:` need at least one.
    func holds(_ condition: PolicyCondition, for request: PolicyRequestContext) -> Bool {
        let conditionOperator = condition.operator
        guard let requestValues = request.values(for: condition.key) else {
            if conditionOperator.ifExists { return true }
            switch conditionOperator.qualifier {
            case .forAllValues: return true
            case .forAnyValue: return false
            case .none: return conditionOperator.comparison.isNegated
            }
        }
        let satisfies = { (requestValue: String) -> Bool in
            let matchesAny = condition.values.contains {
                Self.matches(requestValue, policyValue: $0, comparison: conditionOperator.comparison)
            }
            return conditionOperator.comparison.isNegated ? !matchesAny : matchesAny
        }
        switch conditionOperator.qualifier {
        case .forAllValues: return requestValues.allSatisfy(satisfies)
        case .forAnyValue, .none: return requestValues.contains(where: satisfies)
        }
    }

    /// The positive form of a comparison between one request value and one policy value.
    private static func matches(_ requestValue: String, policyValue: String, comparison: ConditionOperator.Comparison) -> Bool {
        switch comparison {
        case .stringEquals, .stringNotEquals:
            return requestValue == policyValue
        case .stringEqualsIgnoreCase:
            return requestValue.lowercased() == policyValue.lowercased()
        case .stringLike, .stringNotLike:
            return WildcardPattern(policyValue, caseInsensitive: false).matches(requestValue)
        case .bool:
            return requestValue.lowercased() == policyValue.lowercased()
        }
    }
}

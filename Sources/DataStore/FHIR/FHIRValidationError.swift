/// A resource was rejected; ``outcome`` says exactly why, in FHIR's own form.
public struct FHIRValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The issues found.
    public var outcome: OperationOutcome

    /// Creates an error from an outcome.
    public init(_ outcome: OperationOutcome) {
        self.outcome = outcome
    }

    /// Creates an error with one issue.
    public init(code: OperationOutcome.IssueType, diagnostics: String, expression: [String] = []) {
        self.outcome = OperationOutcome(code: code, diagnostics: diagnostics, expression: expression)
    }

    /// The issue codes and diagnostics, one per line.
    public var description: String {
        self.outcome.issues.map { "\($0.code): \($0.diagnostics)" }.joined(separator: "\n")
    }
}

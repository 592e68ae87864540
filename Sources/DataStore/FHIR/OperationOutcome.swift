/// A FHIR `OperationOutcome`: the issues that made a request fail (or that it produced).
///
/// ``jsonObject`` and ``serialized()`` give the FHIR JSON shape, `{"resourceType":
/// "OperationOutcome","issue":[{"severity":…,"code":…,"diagnostics":…,"expression":[…]}]}`.
/// Diagnostics describe the problem; they never quote resource content beyond element names.
public struct OperationOutcome: Hashable, Sendable {
    /// One issue.
    public struct Issue: Hashable, Sendable {
        /// How bad the issue is.
        public var severity: Severity
        /// The FHIR `IssueType` code.
        public var code: IssueType
        /// A human-readable explanation.
        public var diagnostics: String
        /// FHIRPath expressions of the elements concerned, e.g. `Patient.birthDate`.
        public var expression: [String]

        /// Creates an issue.
        public init(severity: Severity = .error, code: IssueType, diagnostics: String, expression: [String] = []) {
            self.severity = severity
            self.code = code
            self.diagnostics = diagnostics
            self.expression = expression
        }
    }

    /// FHIR `IssueSeverity`.
    public enum Severity: String, Hashable, Sendable {
        /// The issue caused the action to fail and no further checking could be performed.
        case fatal
        /// The issue is sufficiently important to cause the action to fail.
        case error
        /// The issue is not important enough to cause the action to fail.
        case warning
        /// The issue has no relation to the degree of success of the action.
        case information
    }

    /// A FHIR `IssueType` code (a struct so that any R4 code can be carried).
    public struct IssueType: Hashable, Sendable, CustomStringConvertible {
        /// The code, e.g. `invalid`.
        public let code: String

        /// Creates a type from its FHIR code.
        public init(_ code: String) {
            self.code = code
        }

        /// The code.
        public var description: String { self.code }

        /// Content invalid against the specification or a profile.
        public static let invalid = IssueType("invalid")
        /// A structural issue in the content, such as wrong JSON or wrong element type.
        public static let structure = IssueType("structure")
        /// A required element is missing.
        public static let required = IssueType("required")
        /// An element or header value is invalid.
        public static let value = IssueType("value")
        /// Content is too long (size limit).
        public static let tooLong = IssueType("too-long")
        /// Processing would cost too much (for example, nesting or search range too large).
        public static let tooCostly = IssueType("too-costly")
        /// The resource or type is not supported.
        public static let notSupported = IssueType("not-supported")
        /// The reference or resource was not found.
        public static let notFound = IssueType("not-found")
        /// A version conflict (optimistic locking).
        public static let conflict = IssueType("conflict")
        /// An authorization or key-access problem.
        public static let security = IssueType("security")
        /// A processing failure.
        public static let processing = IssueType("processing")
        /// An unexpected internal error.
        public static let exception = IssueType("exception")
    }

    /// The issues, at least one.
    public var issues: [Issue]

    /// Creates an outcome.
    public init(issues: [Issue]) {
        self.issues = issues
    }

    /// Creates an outcome with one error issue.
    public init(code: IssueType, diagnostics: String, expression: [String] = []) {
        self.issues = [Issue(code: code, diagnostics: diagnostics, expression: expression)]
    }

    /// The FHIR JSON form.
    public var jsonObject: JSONObject {
        let issues: [JSONValue] = self.issues.map { issue in
            var object: JSONObject = [
                "severity": .string(issue.severity.rawValue),
                "code": .string(issue.code.code),
                "diagnostics": .string(issue.diagnostics),
            ]
            if !issue.expression.isEmpty {
                object["expression"] = .array(issue.expression.map { .string($0) })
            }
            return .object(object)
        }
        return ["resourceType": .string("OperationOutcome"), "issue": .array(issues)]
    }

    /// The FHIR JSON text.
    public func serialized() -> [UInt8] {
        self.jsonObject.serialized()
    }
}

/// One search parameter, declared as data: which resource type, its name, how its values are
/// compared, and where in the resource they are found.
///
/// The expression is a FHIRPath-like subset: dot-separated element names, with `|` between
/// alternatives, e.g. `effectiveDateTime|effectivePeriod.start`. Arrays are flattened at every
/// step, as FHIRPath does, so `name.given` yields every given name of every name.
public struct SearchParameter: Hashable, Sendable, CustomStringConvertible {
    /// How a parameter's values are compared (FHIR search parameter types).
    public enum ParameterType: String, Hashable, Sendable {
        /// Starts-with by default, `:exact` for exact; case- and accent-insensitive.
        case string
        /// `[system]|[code]`, `code`, `system|`, `|code`; exact.
        case token
        /// A calendar date with `eq`, `ge`, `le`, `gt`, `lt` prefixes.
        case date
        /// A literal reference `Type/id` (or a bare id when the target type is known).
        case reference
    }

    /// The resource type this parameter applies to.
    public let resourceType: FHIRResourceType
    /// The parameter name, e.g. `birthdate`.
    public let name: String
    /// How values are compared.
    public let type: ParameterType
    /// The path expression, e.g. `name.family`.
    public let expression: String
    /// The alternatives of ``expression``, each as its element names.
    public let paths: [[String]]
    /// For a reference parameter: the resource types it may point to; empty means any.
    public let targets: [FHIRResourceType]

    /// Declares a parameter.
    ///
    /// - Parameters:
    ///   - resourceType: The type it applies to.
    ///   - name: The name used in searches.
    ///   - type: How values are compared.
    ///   - expression: Dot-separated element names, alternatives separated by `|`.
    ///   - targets: For a reference: the types it may point to (empty: any).
    public init(
        _ resourceType: FHIRResourceType,
        _ name: String,
        _ type: ParameterType,
        _ expression: String,
        targets: [FHIRResourceType] = []
    ) {
        self.resourceType = resourceType
        self.name = name
        self.type = type
        self.expression = expression
        self.paths = expression.split(separator: "|").map { alternative in
            alternative.split(separator: ".").map { String($0.trimmingPrefixAndSuffixSpaces()) }
        }
        self.targets = targets
    }

    /// `Type.name`, the name the blind index keys tokens under; it keeps equal values of
    /// different parameters or types from producing equal tokens.
    public var qualifiedName: String { "\(self.resourceType.name).\(self.name)" }

    /// `Type.name (type: expression)`.
    public var description: String { "\(self.qualifiedName) (\(self.type.rawValue): \(self.expression))" }
}

extension Substring {
    fileprivate func trimmingPrefixAndSuffixSpaces() -> Substring {
        var slice = self
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return slice
    }
}

/// A value found in a resource for a search parameter, interpreted by the parameter's type.
public enum IndexedValue: Hashable, Sendable {
    /// A string element, as written.
    case string(String)
    /// A code, with its system when the element has one (Coding, Identifier) or `nil`
    /// (a plain `code` element such as `gender`).
    case token(system: String?, code: String)
    /// A calendar date.
    case date(FHIRDate)
    /// A literal reference, normalized to `Type/id` (or a `urn:uuid:`/`urn:oid:` URI).
    case reference(String)
}

/// Why an element cannot be read as its search parameter's type.
struct ElementValueError: Error {
    var location: String
    var message: String
}

extension SearchParameter {
    /// The values of this parameter in `resource`.
    ///
    /// - Throws: ``ElementValueError`` when an element has the wrong JSON type or an unparseable
    ///   date; validation turns that into an `OperationOutcome`.
    func values(in resource: JSONObject) throws(ElementValueError) -> [IndexedValue] {
        let matches: [ElementPath.Match]
        do {
            matches = try ElementPath.evaluate(self, on: resource)
        } catch {
            throw ElementValueError(location: error.location, message: "expected an object, found \(error.found)")
        }
        var values: [IndexedValue] = []
        for match in matches {
            switch self.type {
            case .string:
                guard case .string(let text) = match.value else {
                    throw ElementValueError(location: match.location, message: "expected a string, found \(match.value.kindName)")
                }
                values.append(.string(text))
            case .token:
                // Coding and Identifier elements are objects; only a `code` element is a string.
                if case .string = match.value, Self.objectOnlyElements.contains(Self.elementName(of: match.location)) {
                    throw ElementValueError(location: match.location, message: "expected an object, found string")
                }
                try Self.appendTokens(match.value, location: match.location, to: &values)
            case .date:
                guard case .string(let text) = match.value else {
                    throw ElementValueError(location: match.location, message: "expected a date string, found \(match.value.kindName)")
                }
                guard let date = FHIRDate(fhir: text) else {
                    throw ElementValueError(location: match.location, message: "not a valid FHIR date, dateTime or instant")
                }
                values.append(.date(date))
            case .reference:
                guard case .object(let reference) = match.value else {
                    throw ElementValueError(location: match.location, message: "expected a Reference object, found \(match.value.kindName)")
                }
                guard let literal = reference["reference"] else { continue }
                guard case .string(let text) = literal else {
                    throw ElementValueError(location: match.location + ".reference", message: "expected a string, found \(literal.kindName)")
                }
                if let normalized = ReferenceValue.normalize(text),
                    self.targets.isEmpty || normalized.type.map({ self.targets.contains($0) }) == true
                {
                    values.append(.reference(normalized.literal))
                }
            }
        }
        return values
    }

    /// Token elements that FHIR defines as Coding or Identifier, never a plain code.
    private static let objectOnlyElements: Set<Substring> = ["coding", "identifier", "class"]

    /// `coding` for `Condition.code.coding[2]`.
    private static func elementName(of location: String) -> Substring {
        let last = location.split(separator: ".").last ?? Substring(location)
        return last.split(separator: "[").first ?? last
    }

    /// A token element is a `code` string, a Coding (`system`, `code`), an Identifier
    /// (`system`, `value`) or a CodeableConcept (`coding`).
    private static func appendTokens(_ value: JSONValue, location: String, to values: inout [IndexedValue]) throws(ElementValueError) {
        switch value {
        case .string(let code):
            values.append(.token(system: nil, code: code))
        case .object(let object):
            func string(_ key: String) throws(ElementValueError) -> String? {
                guard let element = object[key] else { return nil }
                guard case .string(let text) = element else {
                    throw ElementValueError(location: "\(location).\(key)", message: "expected a string, found \(element.kindName)")
                }
                return text
            }
            let system = try string("system")
            let code = try string("code")
            let value = try string("value")
            if let code = code ?? value {
                values.append(.token(system: system, code: code))
            }
            if let coding = object["coding"] {
                guard case .array(let codings) = coding else {
                    throw ElementValueError(location: "\(location).coding", message: "expected an array, found \(coding.kindName)")
                }
                for (index, element) in codings.enumerated() {
                    try appendTokens(element, location: "\(location).coding[\(index)]", to: &values)
                }
            }
        default:
            throw ElementValueError(location: location, message: "expected a code string or object, found \(value.kindName)")
        }
    }
}

/// Literal references in the one form the index compares.
enum ReferenceValue {
    /// `Patient/1`, `https://host/fhir/Patient/1` and `Patient/1/_history/2` all become
    /// `Patient/1`; `urn:uuid:…` and `urn:oid:…` stay as they are. Conditional references
    /// (`Patient?identifier=…`) and anything else return `nil`: they name no single resource.
    static func normalize(_ reference: String) -> (type: FHIRResourceType?, literal: String)? {
        if reference.hasPrefix("urn:uuid:") || reference.hasPrefix("urn:oid:") {
            return (nil, reference)
        }
        guard !reference.contains("?"), !reference.contains("#") else { return nil }
        var parts = reference.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count >= 4, parts[parts.count - 2] == "_history" {
            parts.removeLast(2)
        }
        guard parts.count >= 2, let type = FHIRResourceType(parts[parts.count - 2]),
            FHIRResource.isValidID(parts[parts.count - 1])
        else { return nil }
        return (type, "\(type.name)/\(parts[parts.count - 1])")
    }
}

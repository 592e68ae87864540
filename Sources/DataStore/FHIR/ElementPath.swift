/// Evaluates the simple paths of a ``SearchParameter`` against a resource.
enum ElementPath {
    /// A value found at a path, with its FHIRPath location (e.g. `Patient.name[1].given[0]`).
    struct Match {
        var value: JSONValue
        var location: String
    }

    /// An element on the way that is neither an object nor an array of objects.
    struct TypeMismatch: Error {
        var location: String
        var found: String
    }

    /// Every value at any alternative of `parameter`, arrays flattened.
    ///
    /// - Throws: ``TypeMismatch`` when an intermediate element is not an object (or array of
    ///   objects), so that validation can reject it and extraction never guesses.
    static func evaluate(_ parameter: SearchParameter, on resource: JSONObject) throws(TypeMismatch) -> [Match] {
        var matches: [Match] = []
        for path in parameter.paths {
            var current = [Match(value: .object(resource), location: parameter.resourceType.name)]
            for (step, name) in path.enumerated() {
                var next: [Match] = []
                for match in current {
                    guard case .object(let object) = match.value else {
                        throw TypeMismatch(location: match.location, found: match.value.kindName)
                    }
                    guard let child = object[name] else { continue }
                    let location = match.location + "." + name
                    switch child {
                    case .array(let elements):
                        for (index, element) in elements.enumerated() {
                            next.append(Match(value: element, location: "\(location)[\(index)]"))
                        }
                    default:
                        next.append(Match(value: child, location: location))
                    }
                }
                current = next
                if step == path.count - 1 { matches += current }
            }
        }
        return matches
    }
}

extension FHIRResource {
    /// The resource with every `Reference.reference` (any `reference` string element, at any
    /// depth) that is a key of `targets` replaced by its value, and the `urn:uuid:` and
    /// `urn:oid:` references that are not keys of `targets` (which cannot be resolved).
    ///
    /// A transaction uses it to rewrite references to its entries' `fullUrl`s into the
    /// `Type/id` the server assigned.
    public func resolvingReferences(_ targets: [String: String]) -> (resource: FHIRResource, unresolved: [String]) {
        var unresolved: [String] = []
        var copy = self
        copy.json = Self.resolving(self.json, targets, &unresolved)
        return (copy, unresolved)
    }

    private static func resolving(_ object: JSONObject, _ targets: [String: String], _ unresolved: inout [String]) -> JSONObject {
        var members = object.members
        for position in members.indices {
            let member = members[position]
            if member.key == "reference", case .string(let reference) = member.value {
                if let target = targets[reference] {
                    members[position].value = .string(target)
                } else if reference.hasPrefix("urn:uuid:") || reference.hasPrefix("urn:oid:") {
                    unresolved.append(reference)
                }
            } else {
                members[position].value = Self.resolving(member.value, targets, &unresolved)
            }
        }
        return JSONObject(members: members)
    }

    private static func resolving(_ value: JSONValue, _ targets: [String: String], _ unresolved: inout [String]) -> JSONValue {
        switch value {
        case .object(let object): .object(Self.resolving(object, targets, &unresolved))
        case .array(let elements): .array(elements.map { Self.resolving($0, targets, &unresolved) })
        default: value
        }
    }
}

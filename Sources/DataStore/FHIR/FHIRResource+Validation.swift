extension FHIRResource {
    /// Every problem in a resource whose `resourceType` is known: `id`, `meta` and the
    /// elements that the search table reads.
    static func issues(in json: JSONObject, type: FHIRResourceType, table: SearchParameterTable) -> [OperationOutcome.Issue] {
        var issues: [OperationOutcome.Issue] = []
        let typeName = type.name
        if let id = json["id"] {
            if case .string(let text) = id {
                if !isValidID(text) {
                    issues.append(
                        .init(
                            code: .value,
                            diagnostics: "id must be 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'",
                            expression: ["\(typeName).id"]
                        )
                    )
                }
            } else {
                issues.append(
                    .init(code: .structure, diagnostics: "id must be a string, found \(id.kindName)", expression: ["\(typeName).id"])
                )
            }
        }
        if let meta = json["meta"] {
            if case .object(let object) = meta {
                for key in ["versionId", "lastUpdated"] {
                    if let element = object[key], element.stringValue == nil {
                        issues.append(
                            .init(
                                code: .structure,
                                diagnostics: "meta.\(key) must be a string, found \(element.kindName)",
                                expression: ["\(typeName).meta.\(key)"]
                            )
                        )
                    }
                }
                if let lastUpdated = object["lastUpdated"]?.stringValue, FHIRDate(fhir: lastUpdated)?.precision != .day {
                    issues.append(
                        .init(code: .value, diagnostics: "meta.lastUpdated must be a FHIR instant", expression: ["\(typeName).meta.lastUpdated"])
                    )
                }
            } else {
                issues.append(
                    .init(code: .structure, diagnostics: "meta must be an object, found \(meta.kindName)", expression: ["\(typeName).meta"])
                )
            }
        }
        for parameter in table.parameters(for: type) {
            do {
                _ = try parameter.values(in: json)
            } catch {
                let issue = OperationOutcome.Issue(
                    code: .structure,
                    diagnostics: "\(error.location): \(error.message) (read by search parameter \(parameter.name))",
                    expression: [error.location]
                )
                if !issues.contains(where: { $0.expression == issue.expression }) { issues.append(issue) }
            }
        }
        return issues
    }
}

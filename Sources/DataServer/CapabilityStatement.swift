public import DataStore

/// The FHIR `CapabilityStatement` fhird serves: the resource types with search parameters,
/// the interactions supported for every type, and the search parameters from the table.
public enum CapabilityStatement {
    /// The statement for a search parameter table.
    public static func r4(table: SearchParameterTable) -> JSONObject {
        let interactions: [JSONValue] = ["read", "vread", "update", "delete", "history-instance", "history-type", "create", "search-type"]
            .map { .object(["code": .string($0)]) }
        let types = Set(table.parameters.map(\.resourceType)).sorted()
        let resources: [JSONValue] = types.map { type in
            let parameters: [JSONValue] = table.parameters(for: type).map { parameter in
                .object(["name": .string(parameter.name), "type": .string(parameter.type.rawValue)])
            }
            return .object([
                "type": .string(type.name),
                "interaction": .array(interactions),
                "versioning": .string("versioned-update"),
                "readHistory": .bool(true),
                "updateCreate": .bool(true),
                "searchParam": .array(
                    [
                        .object(["name": .string("_id"), "type": .string("token")]),
                        .object(["name": .string("_lastUpdated"), "type": .string("date")]),
                        .object(["name": .string("_count"), "type": .string("number")]),
                    ]
                        + parameters),
            ])
        }
        return [
            "resourceType": .string("CapabilityStatement"),
            "status": .string("active"),
            "kind": .string("instance"),
            "fhirVersion": .string("4.0.1"),
            "format": .array([.string("json")]),
            "software": .object(["name": .string("Keylake fhird")]),
            "rest": .array([
                .object([
                    "mode": .string("server"),
                    "resource": .array(resources),
                    // Bundles through ProcessBundle: batch, and atomic transaction (urn:uuid references resolved).
                    "interaction": .array([.object(["code": .string("batch")]), .object(["code": .string("transaction")])]),
                ])
            ]),
        ]
    }
}

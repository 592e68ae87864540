/// The search parameters a data store supports, by resource type and name.
///
/// Adding a parameter is adding a row to ``r4``: the blind index and validation read the table,
/// no code changes.
public struct SearchParameterTable: Hashable, Sendable {
    /// Every parameter, in declaration order.
    public let parameters: [SearchParameter]

    private let byType: [FHIRResourceType: [SearchParameter]]

    /// Creates a table; a later parameter with the same type and name replaces an earlier one.
    public init(_ parameters: [SearchParameter]) {
        var unique: [SearchParameter] = []
        for parameter in parameters {
            if let index = unique.firstIndex(where: {
                $0.resourceType == parameter.resourceType && $0.name == parameter.name
            }) {
                unique[index] = parameter
            } else {
                unique.append(parameter)
            }
        }
        self.parameters = unique
        self.byType = Dictionary(grouping: unique, by: \.resourceType)
    }

    /// The parameters of one resource type.
    public func parameters(for resourceType: FHIRResourceType) -> [SearchParameter] {
        self.byType[resourceType] ?? []
    }

    /// One parameter, or `nil` if the type has no parameter of that name.
    public func parameter(named name: String, for resourceType: FHIRResourceType) -> SearchParameter? {
        self.byType[resourceType]?.first { $0.name == name }
    }

    /// The FHIR R4 parameters the data service supports (names and paths from the R4
    /// specification; `patient` is `subject` restricted to `Patient` targets).
    public static let r4: SearchParameterTable = {
        var rows: [SearchParameter] = [
            SearchParameter(.patient, "identifier", .token, "identifier"),
            SearchParameter(.patient, "name", .string, "name.family|name.given|name.text|name.prefix|name.suffix"),
            SearchParameter(.patient, "family", .string, "name.family"),
            SearchParameter(.patient, "given", .string, "name.given"),
            SearchParameter(.patient, "birthdate", .date, "birthDate"),
            SearchParameter(.patient, "gender", .token, "gender"),
        ]
        func subjectRows(_ type: FHIRResourceType) -> [SearchParameter] {
            [
                SearchParameter(type, "patient", .reference, "subject", targets: [.patient]),
                SearchParameter(type, "subject", .reference, "subject"),
            ]
        }
        rows += subjectRows(.observation) + [
            SearchParameter(.observation, "code", .token, "code.coding"),
            SearchParameter(.observation, "date", .date, "effectiveDateTime|effectivePeriod.start|effectiveInstant"),
            SearchParameter(.observation, "status", .token, "status"),
            SearchParameter(.observation, "category", .token, "category.coding"),
        ]
        rows += subjectRows(.condition) + [
            SearchParameter(.condition, "code", .token, "code.coding"),
            SearchParameter(.condition, "onset-date", .date, "onsetDateTime|onsetPeriod.start"),
            SearchParameter(.condition, "recorded-date", .date, "recordedDate"),
            SearchParameter(.condition, "clinical-status", .token, "clinicalStatus.coding"),
            SearchParameter(.condition, "category", .token, "category.coding"),
        ]
        rows += subjectRows(.encounter) + [
            SearchParameter(.encounter, "date", .date, "period.start"),
            SearchParameter(.encounter, "status", .token, "status"),
            SearchParameter(.encounter, "class", .token, "class"),
            SearchParameter(.encounter, "type", .token, "type.coding"),
        ]
        rows += subjectRows(.procedure) + [
            SearchParameter(.procedure, "code", .token, "code.coding"),
            SearchParameter(.procedure, "date", .date, "performedDateTime|performedPeriod.start"),
            SearchParameter(.procedure, "status", .token, "status"),
            SearchParameter(.procedure, "category", .token, "category.coding"),
        ]
        rows += subjectRows(.medicationRequest) + [
            SearchParameter(.medicationRequest, "code", .token, "medicationCodeableConcept.coding"),
            SearchParameter(.medicationRequest, "authoredon", .date, "authoredOn"),
            SearchParameter(.medicationRequest, "date", .date, "dosageInstruction.timing.event"),
            SearchParameter(.medicationRequest, "status", .token, "status"),
            SearchParameter(.medicationRequest, "intent", .token, "intent"),
            SearchParameter(.medicationRequest, "category", .token, "category.coding"),
        ]
        rows += [
            SearchParameter(.immunization, "patient", .reference, "patient", targets: [.patient]),
            SearchParameter(.immunization, "vaccine-code", .token, "vaccineCode.coding"),
            SearchParameter(.immunization, "date", .date, "occurrenceDateTime"),
            SearchParameter(.immunization, "status", .token, "status"),
            SearchParameter(.allergyIntolerance, "patient", .reference, "patient", targets: [.patient]),
            SearchParameter(.allergyIntolerance, "code", .token, "code.coding"),
            SearchParameter(.allergyIntolerance, "date", .date, "recordedDate"),
            SearchParameter(.allergyIntolerance, "clinical-status", .token, "clinicalStatus.coding"),
            SearchParameter(.allergyIntolerance, "category", .token, "category"),
        ]
        rows += subjectRows(.documentReference) + [
            SearchParameter(.documentReference, "type", .token, "type.coding"),
            SearchParameter(.documentReference, "date", .date, "date"),
            SearchParameter(.documentReference, "status", .token, "status"),
            SearchParameter(.documentReference, "category", .token, "category.coding"),
        ]
        return SearchParameterTable(rows)
    }()
}

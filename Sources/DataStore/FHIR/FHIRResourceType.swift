/// A FHIR R4 resource type name, such as `Patient`: one of the resource types of the FHIR R4
/// (4.0.1) resource list.
///
/// A struct rather than an enum with 146 cases: the set is data, and the commonly used types
/// have named constants.
public struct FHIRResourceType: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The type name, e.g. `Patient`.
    public let name: String

    /// Looks up a type by name; `nil` unless `name` is a concrete FHIR R4 resource type
    /// (case-sensitive, as FHIR is).
    public init?(_ name: String) {
        guard Self.allNames.contains(name) else { return nil }
        self.name = name
    }

    private init(known name: String) {
        self.name = name
    }

    /// The type name.
    public var description: String { self.name }

    /// Orders by name.
    public static func < (lhs: FHIRResourceType, rhs: FHIRResourceType) -> Bool { lhs.name < rhs.name }

    /// `Patient`.
    public static let patient = FHIRResourceType(known: "Patient")
    /// `Observation`.
    public static let observation = FHIRResourceType(known: "Observation")
    /// `Condition`.
    public static let condition = FHIRResourceType(known: "Condition")
    /// `Encounter`.
    public static let encounter = FHIRResourceType(known: "Encounter")
    /// `Procedure`.
    public static let procedure = FHIRResourceType(known: "Procedure")
    /// `MedicationRequest`.
    public static let medicationRequest = FHIRResourceType(known: "MedicationRequest")
    /// `Immunization`.
    public static let immunization = FHIRResourceType(known: "Immunization")
    /// `AllergyIntolerance`.
    public static let allergyIntolerance = FHIRResourceType(known: "AllergyIntolerance")
    /// `DocumentReference`.
    public static let documentReference = FHIRResourceType(known: "DocumentReference")
    /// `Device`.
    public static let device = FHIRResourceType(known: "Device")
    /// `Location`.
    public static let location = FHIRResourceType(known: "Location")
    /// `Organization`.
    public static let organization = FHIRResourceType(known: "Organization")
    /// `Practitioner`.
    public static let practitioner = FHIRResourceType(known: "Practitioner")
    /// `PractitionerRole`.
    public static let practitionerRole = FHIRResourceType(known: "PractitionerRole")
    /// `Bundle`.
    public static let bundle = FHIRResourceType(known: "Bundle")

    /// Every resource type of FHIR R4 4.0.1 (the specification's resource list, 146 names;
    /// the abstract `Resource` and `DomainResource` are not among them).
    public static let allNames: Set<String> = [
        "Account", "ActivityDefinition", "AdverseEvent", "AllergyIntolerance", "Appointment",
        "AppointmentResponse", "AuditEvent", "Basic", "Binary", "BiologicallyDerivedProduct",
        "BodyStructure", "Bundle", "CapabilityStatement", "CarePlan", "CareTeam", "CatalogEntry",
        "ChargeItem", "ChargeItemDefinition", "Claim", "ClaimResponse", "ClinicalImpression",
        "CodeSystem", "Communication", "CommunicationRequest", "CompartmentDefinition", "Composition",
        "ConceptMap", "Condition", "Consent", "Contract", "Coverage", "CoverageEligibilityRequest",
        "CoverageEligibilityResponse", "DetectedIssue", "Device", "DeviceDefinition", "DeviceMetric",
        "DeviceRequest", "DeviceUseStatement", "DiagnosticReport", "DocumentManifest",
        "DocumentReference", "EffectEvidenceSynthesis", "Encounter", "Endpoint", "EnrollmentRequest",
        "EnrollmentResponse", "EpisodeOfCare", "EventDefinition", "Evidence", "EvidenceVariable",
        "ExampleScenario", "ExplanationOfBenefit", "FamilyMemberHistory", "Flag", "Goal",
        "GraphDefinition", "Group", "GuidanceResponse", "HealthcareService", "ImagingStudy",
        "Immunization", "ImmunizationEvaluation", "ImmunizationRecommendation", "ImplementationGuide",
        "InsurancePlan", "Invoice", "Library", "Linkage", "List", "Location", "Measure", "MeasureReport",
        "Media", "Medication", "MedicationAdministration", "MedicationDispense", "MedicationKnowledge",
        "MedicationRequest", "MedicationStatement", "MedicinalProduct", "MedicinalProductAuthorization",
        "MedicinalProductContraindication", "MedicinalProductIndication", "MedicinalProductIngredient",
        "MedicinalProductInteraction", "MedicinalProductManufactured", "MedicinalProductPackaged",
        "MedicinalProductPharmaceutical", "MedicinalProductUndesirableEffect", "MessageDefinition",
        "MessageHeader", "MolecularSequence", "NamingSystem", "NutritionOrder", "Observation",
        "ObservationDefinition", "OperationDefinition", "OperationOutcome", "Organization",
        "OrganizationAffiliation", "Parameters", "Patient", "PaymentNotice", "PaymentReconciliation",
        "Person", "PlanDefinition", "Practitioner", "PractitionerRole", "Procedure", "Provenance",
        "Questionnaire", "QuestionnaireResponse", "RelatedPerson", "RequestGroup", "ResearchDefinition",
        "ResearchElementDefinition", "ResearchStudy", "ResearchSubject", "RiskAssessment",
        "RiskEvidenceSynthesis", "Schedule", "SearchParameter", "ServiceRequest", "Slot", "Specimen",
        "SpecimenDefinition", "StructureDefinition", "StructureMap", "Subscription", "Substance",
        "SubstanceNucleicAcid", "SubstancePolymer", "SubstanceProtein", "SubstanceReferenceInformation",
        "SubstanceSourceMaterial", "SubstanceSpecification", "SupplyDelivery", "SupplyRequest", "Task",
        "TerminologyCapabilities", "TestReport", "TestScript", "ValueSet", "VerificationResult",
        "VisionPrescription",
    ]
}

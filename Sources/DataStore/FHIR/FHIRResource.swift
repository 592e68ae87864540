/// One FHIR R4 resource: a validated JSON object with a known `resourceType`.
///
/// The JSON is kept as parsed (member order, number literals), so ``serialized()`` gives back
/// the content a client sent, apart from what the server manages: `id`, `meta.versionId` and
/// `meta.lastUpdated` (see ``settingServerManagedElements(id:versionID:lastUpdated:)`` and
/// ``clientContent``).
public struct FHIRResource: Hashable, Sendable {
    /// The whole resource, including `resourceType`.
    public internal(set) var json: JSONObject

    /// The resource type.
    public let resourceType: FHIRResourceType

    /// The logical id, if the resource has one.
    public var id: String? { self.json["id"]?.stringValue }

    /// `meta.versionId`, if present.
    public var versionID: String? { self.json["meta"]?.objectValue?["versionId"]?.stringValue }

    /// `meta.lastUpdated`, if present.
    public var lastUpdated: String? { self.json["meta"]?.objectValue?["lastUpdated"]?.stringValue }

    /// Parses and validates a resource from JSON bytes.
    ///
    /// - Parameters:
    ///   - bytes: UTF-8 JSON text.
    ///   - table: The search parameters whose elements must have the right types.
    ///   - limits: Size and nesting limits.
    /// - Throws: ``FHIRValidationError`` whose `OperationOutcome` names every problem found:
    ///   not JSON, not an object, missing or unknown `resourceType`, invalid `id`, elements the
    ///   search table reads having the wrong type, too large, too deep, duplicate keys.
    public static func parse(
        _ bytes: some Collection<UInt8>,
        table: SearchParameterTable = .r4,
        limits: FHIRValidationLimits = FHIRValidationLimits()
    ) throws(FHIRValidationError) -> FHIRResource {
        guard bytes.count <= limits.maximumResourceBytes else {
            throw FHIRValidationError(
                code: .tooLong,
                diagnostics: "the resource is \(bytes.count) bytes; the limit is \(limits.maximumResourceBytes)"
            )
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes, limits: limits.jsonLimits)
        } catch {
            let code: OperationOutcome.IssueType
            switch error.reason {
            case .tooLarge: code = .tooLong
            case .tooDeep: code = .tooCostly
            case .duplicateKey: code = .invalid
            default: code = .structure
            }
            throw FHIRValidationError(code: code, diagnostics: "not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw FHIRValidationError(
                code: .structure,
                diagnostics: "a resource must be a JSON object, found \(value.kindName)"
            )
        }
        return try FHIRResource(json: object, table: table)
    }

    /// Validates a JSON object as a resource.
    ///
    /// - Throws: ``FHIRValidationError``, as ``parse(_:table:limits:)`` (without the JSON checks).
    public init(json: JSONObject, table: SearchParameterTable = .r4) throws(FHIRValidationError) {
        guard let typeValue = json["resourceType"] else {
            throw FHIRValidationError(code: .required, diagnostics: "resourceType is missing", expression: ["resourceType"])
        }
        guard case .string(let typeName) = typeValue else {
            throw FHIRValidationError(
                code: .structure,
                diagnostics: "resourceType must be a string, found \(typeValue.kindName)",
                expression: ["resourceType"]
            )
        }
        guard let type = FHIRResourceType(typeName) else {
            throw FHIRValidationError(
                code: .notSupported,
                diagnostics: "\"\(typeName.prefix(64))\" is not a FHIR R4 resource type",
                expression: ["resourceType"]
            )
        }
        self.resourceType = type
        self.json = json
        let issues = Self.issues(in: json, type: type, table: table)
        guard issues.isEmpty else { throw FHIRValidationError(OperationOutcome(issues: issues)) }
    }

    /// Whether `id` matches FHIR's id rule, `[A-Za-z0-9\-\.]{1,64}`.
    public static func isValidID(_ id: String) -> Bool {
        let bytes = id.utf8
        guard (1...64).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
                true
            default: false
            }
        }
    }

    /// The compact JSON text of the resource.
    public func serialized() -> [UInt8] {
        self.json.serialized()
    }

    /// The resource with server-managed elements set: `id`, `meta.versionId` and
    /// `meta.lastUpdated` (other `meta` elements, such as `profile`, are kept).
    ///
    /// - Precondition: `id` is a valid FHIR id.
    public func settingServerManagedElements(id: String, versionID: String, lastUpdated: String) -> FHIRResource {
        precondition(Self.isValidID(id), "invalid FHIR id")
        var copy = self
        copy.json["id"] = .string(id)
        var meta = self.json["meta"]?.objectValue ?? JSONObject()
        meta["versionId"] = .string(versionID)
        meta["lastUpdated"] = .string(lastUpdated)
        copy.json["meta"] = .object(meta)
        return copy
    }

    /// The content apart from server-managed elements: without `id`, `meta.versionId`,
    /// `meta.lastUpdated`, and without `meta` when nothing else is left in it. Two versions of
    /// a resource have equal client content when the client sent equal resources.
    public var clientContent: JSONObject {
        var content = self.json
        content["id"] = nil
        if var meta = content["meta"]?.objectValue {
            meta["versionId"] = nil
            meta["lastUpdated"] = nil
            content["meta"] = meta.isEmpty ? nil : .object(meta)
        }
        return content
    }
}

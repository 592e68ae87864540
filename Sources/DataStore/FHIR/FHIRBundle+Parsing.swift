extension FHIRBundle {
    /// Parses and checks a `batch` or `transaction` Bundle.
    ///
    /// The Bundle as a whole is rejected when it is not JSON, not a `Bundle`, of another type,
    /// too large or too deep, has more entries than allowed, an entry that is not an object, a
    /// `fullUrl` that is not a string, an invalid `urn:uuid:`, or a `fullUrl` used twice. An
    /// entry's own problems — request missing, method not GET/POST/PUT/DELETE, a URL that is not
    /// `Type`, `Type/id` or `Type/id/_history/vid`, conditional or search requests, a resource
    /// missing, unexpected, invalid or of another type than the URL — make that entry a failure;
    /// in a transaction they reject the whole Bundle, as does one resource targeted by two
    /// entries.
    ///
    /// - Throws: ``FHIRValidationError`` whose `OperationOutcome` names each entry (`entry 3: …`,
    ///   expression `Bundle.entry[3].request.url`) and problem.
    public static func parse(
        _ bytes: some Collection<UInt8>, table: SearchParameterTable = .r4, limits: FHIRBundleLimits = FHIRBundleLimits()
    ) throws(FHIRValidationError) -> FHIRBundle {
        guard bytes.count <= limits.maximumBytes else {
            throw FHIRValidationError(code: .tooLong, diagnostics: "the Bundle is \(bytes.count) bytes; the limit is \(limits.maximumBytes)")
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
        guard case .object(let bundle) = value else {
            throw FHIRValidationError(code: .structure, diagnostics: "a Bundle must be a JSON object, found \(value.kindName)")
        }
        guard bundle["resourceType"]?.stringValue == "Bundle" else {
            throw FHIRValidationError(
                code: .invalid, diagnostics: "resourceType must be \"Bundle\"", expression: ["resourceType"])
        }
        guard let typeName = bundle["type"]?.stringValue, let kind = Kind(rawValue: typeName) else {
            throw FHIRValidationError(
                code: .notSupported, diagnostics: "Bundle.type must be \"batch\" or \"transaction\"", expression: ["Bundle.type"])
        }
        let elements: [JSONValue]
        switch bundle["entry"] {
        case nil: elements = []
        case .array(let array)?: elements = array
        case let other?:
            throw FHIRValidationError(code: .structure, diagnostics: "Bundle.entry must be an array, found \(other.kindName)", expression: ["Bundle.entry"])
        }
        guard elements.count <= limits.maximumEntries else {
            throw FHIRValidationError(
                code: .tooCostly, diagnostics: "the Bundle has \(elements.count) entries; the limit is \(limits.maximumEntries)",
                expression: ["Bundle.entry"])
        }

        var entries: [Entry] = []
        var fullUrls: [String: Int] = [:]
        for (index, element) in elements.enumerated() {
            guard case .object(let object) = element else {
                throw FHIRValidationError(
                    code: .structure, diagnostics: "entry \(index): an entry must be an object, found \(element.kindName)",
                    expression: ["Bundle.entry[\(index)]"])
            }
            var fullUrl: String?
            if let value = object["fullUrl"] {
                guard case .string(let text) = value, !text.isEmpty else {
                    throw FHIRValidationError(
                        code: .structure, diagnostics: "entry \(index): fullUrl must be a non-empty string",
                        expression: ["Bundle.entry[\(index)].fullUrl"])
                }
                if text.hasPrefix("urn:uuid:"), !Self.isUUID(text.dropFirst("urn:uuid:".count)) {
                    throw FHIRValidationError(
                        code: .value, diagnostics: "entry \(index): fullUrl \"\(text.prefix(80))\" is not a valid urn:uuid",
                        expression: ["Bundle.entry[\(index)].fullUrl"])
                }
                if let first = fullUrls[text] {
                    throw FHIRValidationError(
                        code: .invalid, diagnostics: "entry \(index): fullUrl \"\(text.prefix(80))\" is also the fullUrl of entry \(first)",
                        expression: ["Bundle.entry[\(index)].fullUrl"])
                }
                fullUrls[text] = index
                fullUrl = text
            }
            let action: Result<Action, FHIRValidationError>
            do throws(FHIRValidationError) {
                action = .success(try Self.action(of: object, index: index, table: table, limits: limits.resourceLimits))
            } catch {
                action = .failure(error)
            }
            entries.append(Entry(index: index, fullUrl: fullUrl, action: action))
        }

        if kind == .transaction {
            var issues: [OperationOutcome.Issue] = []
            var targets: [String: Int] = [:]
            for entry in entries {
                switch entry.action {
                case .failure(let error):
                    issues += error.outcome.issues
                case .success(let action):
                    // Reads may name a resource the transaction writes (FHIR's overlap rule is
                    // about DELETE, POST and PUT).
                    guard action.method != .get, let target = action.target else { continue }
                    if let first = targets[target] {
                        issues.append(
                            .init(
                                code: .invalid,
                                diagnostics: "entry \(entry.index): \(target) is also the target of entry \(first); a transaction may touch a resource once",
                                expression: ["Bundle.entry[\(entry.index)].request.url"]))
                    } else {
                        targets[target] = entry.index
                    }
                }
            }
            guard issues.isEmpty else { throw FHIRValidationError(OperationOutcome(issues: issues)) }
        }
        return FHIRBundle(kind: kind, entries: entries)
    }

    /// The action of one entry, or its problem.
    private static func action(
        of entry: JSONObject, index: Int, table: SearchParameterTable, limits: FHIRValidationLimits
    ) throws(FHIRValidationError) -> Action {
        let at = "Bundle.entry[\(index)]"
        func problem(_ code: OperationOutcome.IssueType, _ text: String, _ element: String) -> FHIRValidationError {
            FHIRValidationError(code: code, diagnostics: "entry \(index): \(text)", expression: ["\(at).\(element)"])
        }
        guard let requestValue = entry["request"] else { throw problem(.required, "request is missing", "request") }
        guard case .object(let request) = requestValue else {
            throw problem(.structure, "request must be an object, found \(requestValue.kindName)", "request")
        }
        guard let methodValue = request["method"] else { throw problem(.required, "request.method is missing", "request.method") }
        guard case .string(let methodName) = methodValue else {
            throw problem(.structure, "request.method must be a string, found \(methodValue.kindName)", "request.method")
        }
        guard let method = Method(rawValue: methodName) else {
            throw problem(.notSupported, "request.method \"\(methodName.prefix(16))\" is not one of GET, POST, PUT, DELETE", "request.method")
        }
        guard let urlValue = request["url"] else { throw problem(.required, "request.url is missing", "request.url") }
        guard case .string(let url) = urlValue, !url.isEmpty, url.utf8.count <= 2048 else {
            throw problem(.structure, "request.url must be a string of 1 to 2048 characters", "request.url")
        }
        for (element, meaning) in [("ifNoneExist", "conditional create"), ("ifNoneMatch", "If-None-Match"), ("ifModifiedSince", "If-Modified-Since")]
        where request[element] != nil {
            throw problem(.notSupported, "request.\(element) (\(meaning)) is not supported", "request.\(element)")
        }
        var ifMatch: String?
        if let value = request["ifMatch"] {
            guard case .string(let text) = value, method == .put else {
                throw problem(.notSupported, "request.ifMatch must be a string and is supported on PUT only", "request.ifMatch")
            }
            ifMatch = text
        }
        guard !url.contains("?") else {
            throw problem(.notSupported, "conditional and search URLs (with '?') are not supported in a Bundle", "request.url")
        }
        let parts = url.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let type = FHIRResourceType(parts[0]) else {
            throw problem(.value, "request.url must start with a FHIR R4 resource type, found \"\(parts[0].prefix(64))\"", "request.url")
        }
        if parts.count > 1, !FHIRResource.isValidID(parts[1]) {
            throw problem(.value, "request.url has an invalid id (1 to 64 characters from A-Z, a-z, 0-9, '-' and '.')", "request.url")
        }
        var versionID: Int?
        switch parts.count {
        case 1, 2: break
        case 4 where parts[2] == "_history" && method == .get:
            guard let number = Int(parts[3]), number >= 1 else {
                throw problem(.value, "request.url has an invalid version id (a positive integer)", "request.url")
            }
            versionID = number
        default:
            throw problem(.value, "request.url must be Type, Type/id or (GET only) Type/id/_history/vid", "request.url")
        }
        let expected = method == .post ? 1 : 2
        guard parts.count == expected || (method == .get && parts.count == 4) else {
            let shape = method == .post ? "Type" : (method == .get ? "Type/id or Type/id/_history/vid" : "Type/id")
            throw problem(.value, "a \(method.rawValue) entry's request.url must be \(shape)", "request.url")
        }

        var resource: FHIRResource?
        if let value = entry["resource"] {
            guard method == .post || method == .put else {
                throw problem(.invalid, "a \(method.rawValue) entry must not carry a resource", "resource")
            }
            guard case .object(let object) = value else {
                throw problem(.structure, "resource must be a JSON object, found \(value.kindName)", "resource")
            }
            let parsed: FHIRResource
            do throws(FHIRValidationError) {
                parsed = try FHIRResource(json: object, table: table)
            } catch {
                throw FHIRValidationError(
                    OperationOutcome(
                        issues: error.outcome.issues.map { issue in
                            var issue = issue
                            issue.diagnostics = "entry \(index): \(issue.diagnostics)"
                            issue.expression = issue.expression.isEmpty ? ["\(at).resource"] : issue.expression
                            return issue
                        }))
            }
            let size = parsed.serialized().count
            guard size <= limits.maximumResourceBytes else {
                throw problem(.tooLong, "the resource is \(size) bytes; the limit is \(limits.maximumResourceBytes)", "resource")
            }
            guard parsed.resourceType == type else {
                throw problem(.invalid, "the resource is a \(parsed.resourceType.name), request.url names \(type.name)", "resource.resourceType")
            }
            resource = parsed
        } else if method == .post || method == .put {
            throw problem(.required, "a \(method.rawValue) entry needs a resource", "resource")
        }

        switch method {
        case .post:
            return .create(resource!)
        case .put:
            if let bodyID = resource!.id, bodyID != parts[1] {
                throw problem(.invalid, "the resource id differs from the id in request.url", "resource.id")
            }
            return .update(type, id: parts[1], resource!, ifMatch: ifMatch)
        case .delete:
            return .delete(type, id: parts[1])
        case .get:
            return .read(type, id: parts[1], versionID: versionID)
        }
    }

    /// Whether `text` is a UUID in its 8-4-4-4-12 hexadecimal form.
    static func isUUID(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (position, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(position) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): continue
                default: return false
                }
            }
        }
        return true
    }
}

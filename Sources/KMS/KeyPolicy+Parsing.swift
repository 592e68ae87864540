extension KeyPolicy {
    /// The policy language versions accepted in `Version`.
    public static let supportedVersions: Set<String> = ["2012-10-17", "2008-10-17"]

    /// Parses and validates a policy document in the AWS policy grammar.
    ///
    /// Supported: `Version`, `Id`, `Statement` (one object or an array), and per statement `Sid`,
    /// `Effect`, `Principal` (`"*"`, `{"AWS": …}`, `{"Service": …}`), `Action`, `Resource`,
    /// `Condition` with the operators of ``ConditionOperator`` and the keys of ``ConditionKey``.
    /// Anything else, including `NotPrincipal`, `NotAction` and `NotResource`, is rejected rather
    /// than ignored, so that no statement means less than its author thinks.
    ///
    /// - Throws: ``KMSError`` `MalformedPolicyDocumentException` naming the path to the bad
    ///   element (for example `Statement[1].Condition.StringEquals`) and the problem, or the size
    ///   or nesting limit that was exceeded.
    public init(parsing document: String, limits: KeyPolicyLimits = KeyPolicyLimits()) throws {
        let size = document.utf8.count
        guard size <= limits.maximumDocumentBytes else {
            throw KMSError.malformedPolicyDocument(
                "policy document is \(size) bytes; the limit is \(limits.maximumDocumentBytes)"
            )
        }
        let json: PolicyJSON
        do {
            json = try PolicyJSONParser.parse(document, maximumDepth: limits.maximumNestingDepth)
        } catch {
            throw KMSError.malformedPolicyDocument("policy is not valid JSON at byte \(error.offset): \(error.reason)")
        }
        guard case .object(let members) = json else {
            throw KMSError.malformedPolicyDocument("policy document must be a JSON object, not \(json.typeName)")
        }
        var version: String?
        var id: String?
        var statementsJSON: PolicyJSON?
        for member in members {
            switch member.name {
            case "Version":
                let value = try Self.string(member.value, at: "Version")
                guard Self.supportedVersions.contains(value) else {
                    throw KMSError.malformedPolicyDocument("Version: unsupported policy version '\(value)'")
                }
                version = value
            case "Id":
                id = try Self.string(member.value, at: "Id")
            case "Statement":
                statementsJSON = member.value
            default:
                throw KMSError.malformedPolicyDocument("\(member.name): unknown top-level element")
            }
        }
        guard let statementsJSON else {
            throw KMSError.malformedPolicyDocument("Statement: required element is missing")
        }
        var statements = [PolicyStatement]()
        switch statementsJSON {
        case .object:
            statements.append(try Self.statement(statementsJSON, at: "Statement"))
        case .array(let elements):
            guard !elements.isEmpty else {
                throw KMSError.malformedPolicyDocument("Statement: must contain at least one statement")
            }
            for (index, element) in elements.enumerated() {
                statements.append(try Self.statement(element, at: "Statement[\(index)]"))
            }
        default:
            throw KMSError.malformedPolicyDocument("Statement: must be an object or an array, not \(statementsJSON.typeName)")
        }
        var sids = Set<String>()
        for (index, statement) in statements.enumerated() {
            if let sid = statement.sid, !sid.isEmpty, !sids.insert(sid).inserted {
                throw KMSError.malformedPolicyDocument("Statement[\(index)].Sid: duplicate statement id '\(sid)'")
            }
        }
        self.init(document: document, version: version, id: id, statements: statements)
    }

    private static func statement(_ json: PolicyJSON, at path: String) throws -> PolicyStatement {
        guard case .object(let members) = json else {
            throw KMSError.malformedPolicyDocument("\(path): a statement must be an object, not \(json.typeName)")
        }
        var sid: String?
        var effect: PolicyEffect?
        var principals: PolicyPrincipals?
        var actions: [String]?
        var resources: [String]?
        var conditions = [PolicyCondition]()
        for member in members {
            let memberPath = "\(path).\(member.name)"
            switch member.name {
            case "Sid":
                sid = try Self.string(member.value, at: memberPath)
            case "Effect":
                let value = try Self.string(member.value, at: memberPath)
                guard let parsed = PolicyEffect(rawValue: value) else {
                    throw KMSError.malformedPolicyDocument("\(memberPath): must be \"Allow\" or \"Deny\", not '\(value)'")
                }
                effect = parsed
            case "Principal":
                principals = try Self.principals(member.value, at: memberPath)
            case "Action":
                actions = try Self.stringList(member.value, at: memberPath)
                for (index, action) in actions!.enumerated() where !Self.isValidAction(action) {
                    throw KMSError.malformedPolicyDocument(
                        "\(memberPath)\(Self.suffix(index, member.value)): '\(action)' is not an action such as \"kms:Encrypt\" or \"kms:*\""
                    )
                }
            case "Resource":
                resources = try Self.stringList(member.value, at: memberPath)
                for (index, resource) in resources!.enumerated() where resource != "*" && ParsedARN(resource) == nil {
                    throw KMSError.malformedPolicyDocument(
                        "\(memberPath)\(Self.suffix(index, member.value)): '\(resource)' is neither \"*\" nor an ARN"
                    )
                }
            case "Condition":
                conditions = try Self.conditions(member.value, at: memberPath)
            case "NotPrincipal", "NotAction", "NotResource":
                throw KMSError.malformedPolicyDocument("\(memberPath): element is not supported by this key service")
            default:
                throw KMSError.malformedPolicyDocument("\(memberPath): unknown statement element")
            }
        }
        guard let effect else { throw KMSError.malformedPolicyDocument("\(path).Effect: required element is missing") }
        guard let principals else { throw KMSError.malformedPolicyDocument("\(path).Principal: required element is missing") }
        guard let actions else { throw KMSError.malformedPolicyDocument("\(path).Action: required element is missing") }
        guard let resources else { throw KMSError.malformedPolicyDocument("\(path).Resource: required element is missing") }
        return PolicyStatement(
            sid: sid,
            effect: effect,
            principals: principals,
            actions: actions,
            resources: resources,
            conditions: conditions
        )
    }

    private static func principals(_ json: PolicyJSON, at path: String) throws -> PolicyPrincipals {
        switch json {
        case .string("*"):
            return PolicyPrincipals(matchesEveryone: true)
        case .object(let members):
            guard !members.isEmpty else {
                throw KMSError.malformedPolicyDocument("\(path): must name at least one principal")
            }
            var result = PolicyPrincipals()
            for member in members {
                let memberPath = "\(path).\(member.name)"
                let entries = try Self.stringList(member.value, at: memberPath)
                switch member.name {
                case "AWS":
                    for (index, entry) in entries.enumerated() {
                        let entryPath = memberPath + Self.suffix(index, member.value)
                        if entry == "*" {
                            result.matchesEveryone = true
                        } else {
                            result.aws.append(try Self.awsPrincipal(entry, at: entryPath))
                        }
                    }
                case "Service":
                    for (index, entry) in entries.enumerated() {
                        guard Self.isValidServicePrincipal(entry) else {
                            throw KMSError.malformedPolicyDocument(
                                "\(memberPath)\(Self.suffix(index, member.value)): '\(entry)' is not a service principal such as \"healthlake.amazonaws.com\""
                            )
                        }
                        result.services.append(entry)
                    }
                case "Federated", "CanonicalUser":
                    throw KMSError.malformedPolicyDocument("\(memberPath): principal type is not supported by this key service")
                default:
                    throw KMSError.malformedPolicyDocument("\(memberPath): unknown principal type")
                }
            }
            return result
        default:
            throw KMSError.malformedPolicyDocument("\(path): must be \"*\" or an object with \"AWS\" or \"Service\"")
        }
    }

    private static func awsPrincipal(_ entry: String, at path: String) throws -> PolicyPrincipals.AWSEntry {
        if AccountID.isValid(entry) {
            return .accountRoot(accountID: entry)
        }
        guard !entry.contains("*"), !entry.contains("?") else {
            throw KMSError.malformedPolicyDocument("\(path): wildcards are only allowed as the whole principal \"*\"")
        }
        guard let arn = ParsedARN(entry), arn.service == "iam" || arn.service == "sts", arn.region.isEmpty,
            AccountID.isValid(arn.account)
        else {
            throw KMSError.malformedPolicyDocument(
                "\(path): '\(entry)' is not an account id or an IAM principal ARN such as \"arn:aws:iam::111122223333:role/Admin\""
            )
        }
        if arn.service == "iam", arn.resource == "root" {
            return .accountRoot(accountID: arn.account)
        }
        if let problem = Self.principalResourceProblem(arn) {
            throw KMSError.malformedPolicyDocument("\(path): '\(entry)' is not a valid principal: \(problem)")
        }
        return .arn(entry)
    }

    /// Why an IAM or STS principal ARN's resource is not one AWS accepts in a key policy, or nil:
    /// `iam` takes `root`, `user/[PATH/]NAME` and `role/[PATH/]NAME`; `sts` takes
    /// `assumed-role/ROLE/SESSION` and `federated-user/NAME`. AWS refuses anything else at
    /// CreateKey/PutKeyPolicy ("one or more invalid principals") rather than matching nothing.
    static func principalResourceProblem(_ arn: ParsedARN) -> String? {
        let parts = arn.resource.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        func validName(_ name: String) -> Bool {
            // IAM names: ASCII letters, digits and +=,.@_- (at most 128 characters).
            !name.isEmpty && name.utf8.count <= 128
                && name.utf8.allSatisfy { byte in
                    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                        || "+=,.@_-".utf8.contains(byte)
                }
        }
        switch (arn.service, parts.first) {
        case ("iam", "role"), ("iam", "user"):
            guard parts.count >= 2, parts.dropFirst().allSatisfy(validName) else {
                return "\(parts[0])/ must be followed by a name (optionally after a path), such as \(parts[0])/Admin"
            }
            return nil
        case ("sts", "assumed-role"):
            guard parts.count == 3, validName(parts[1]), validName(parts[2]) else {
                return "an assumed-role session is assumed-role/ROLE/SESSION"
            }
            return nil
        case ("sts", "federated-user"):
            guard parts.count == 2, validName(parts[1]) else { return "a federated user is federated-user/NAME" }
            return nil
        case ("iam", _):
            let suggestion = parts.count == 1 && validName(parts[0]) ? " (did you mean role/\(parts[0])?)" : ""
            return "an IAM principal is root, user/NAME or role/NAME\(suggestion)"
        default:
            return "an STS principal is assumed-role/ROLE/SESSION or federated-user/NAME"
        }
    }

    private static func conditions(_ json: PolicyJSON, at path: String) throws -> [PolicyCondition] {
        guard case .object(let operators) = json else {
            throw KMSError.malformedPolicyDocument("\(path): must be an object, not \(json.typeName)")
        }
        var conditions = [PolicyCondition]()
        for operatorMember in operators {
            let operatorPath = "\(path).\(operatorMember.name)"
            guard let conditionOperator = ConditionOperator(name: operatorMember.name) else {
                throw KMSError.malformedPolicyDocument("\(operatorPath): unsupported condition operator")
            }
            guard case .object(let keys) = operatorMember.value, !keys.isEmpty else {
                throw KMSError.malformedPolicyDocument("\(operatorPath): must be a non-empty object of condition keys")
            }
            for keyMember in keys {
                let keyPath = "\(operatorPath).\(keyMember.name)"
                guard let key = ConditionKey(name: keyMember.name) else {
                    throw KMSError.malformedPolicyDocument("\(keyPath): unsupported condition key")
                }
                let values = try Self.conditionValues(keyMember.value, at: keyPath)
                if conditionOperator.comparison == .bool {
                    for value in values where value.lowercased() != "true" && value.lowercased() != "false" {
                        throw KMSError.malformedPolicyDocument("\(keyPath): Bool values must be true or false, not '\(value)'")
                    }
                }
                conditions.append(PolicyCondition(operator: conditionOperator, key: key, values: values))
            }
        }
        return conditions
    }

    private static func conditionValues(_ json: PolicyJSON, at path: String) throws -> [String] {
        func scalar(_ value: PolicyJSON, at path: String) throws -> String {
            switch value {
            case .string(let string): return string
            case .bool(let bool): return bool ? "true" : "false"
            case .number(let text): return text
            default:
                throw KMSError.malformedPolicyDocument("\(path): a condition value must be a string, number or boolean, not \(value.typeName)")
            }
        }
        if case .array(let elements) = json {
            guard !elements.isEmpty else {
                throw KMSError.malformedPolicyDocument("\(path): must list at least one value")
            }
            return try elements.enumerated().map { try scalar($1, at: "\(path)[\($0)]") }
        }
        return [try scalar(json, at: path)]
    }

    private static func string(_ json: PolicyJSON, at path: String) throws -> String {
        guard case .string(let value) = json else {
            throw KMSError.malformedPolicyDocument("\(path): must be a string, not \(json.typeName)")
        }
        return value
    }

    /// A string or a non-empty array of strings.
    private static func stringList(_ json: PolicyJSON, at path: String) throws -> [String] {
        switch json {
        case .string(let value):
            return [value]
        case .array(let elements):
            guard !elements.isEmpty else {
                throw KMSError.malformedPolicyDocument("\(path): must list at least one value")
            }
            return try elements.enumerated().map { index, element in
                try Self.string(element, at: "\(path)[\(index)]")
            }
        default:
            throw KMSError.malformedPolicyDocument("\(path): must be a string or an array of strings, not \(json.typeName)")
        }
    }

    /// `[index]` when the element was an array, so error paths point at the element.
    private static func suffix(_ index: Int, _ json: PolicyJSON) -> String {
        if case .array = json { return "[\(index)]" }
        return ""
    }

    private static func isValidAction(_ action: String) -> Bool {
        if action == "*" { return true }
        let parts = action.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        let isServiceCharacter: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        let isActionCharacter: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "*" || $0 == "?") }
        return parts[0].allSatisfy(isServiceCharacter) && parts[1].allSatisfy(isActionCharacter)
    }

    private static func isValidServicePrincipal(_ name: String) -> Bool {
        !name.isEmpty && name.contains(".")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    }
}


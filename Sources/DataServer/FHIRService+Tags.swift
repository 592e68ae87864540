import DataStore

extension FHIRService {
    /// Adds tags to the datastore `resourceARN` names, or replaces the values of keys it has
    /// (HealthLake's `TagResource`). All or nothing.
    ///
    /// - Throws: ``HealthLakeError`` `ValidationException` for a malformed ARN, tag key (1 to
    ///   128 characters: letters, numbers, spaces and `_ . : / = + - @`), value (0 to 256 of
    ///   the same), a key given twice, or more than ``FHIRServiceSettings/maximumTagsPerDatastore``
    ///   tags in total; `ResourceNotFoundException` when no such datastore exists (or it was deleted).
    public func tagResource(resourceARN: String, tags: [(key: String, value: String)]) throws {
        let id = try self.datastoreID(fromARN: resourceARN)
        try self.validateTags(tags)
        do {
            try self.store.addTags(datastoreID: id, tags: tags, maximumCount: self.settings.maximumTagsPerDatastore)
        } catch let error as DataStoreError where error.code == .invalidRequest {
            throw HealthLakeError(code: .validation, message: error.message)
        }
    }

    /// Removes tags by key from the datastore `resourceARN` names (HealthLake's
    /// `UntagResource`); keys it does not have are ignored.
    ///
    /// - Throws: ``HealthLakeError`` `ValidationException` for a malformed ARN or key,
    ///   `ResourceNotFoundException` for an unknown datastore.
    public func untagResource(resourceARN: String, keys: [String]) throws {
        let id = try self.datastoreID(fromARN: resourceARN)
        guard keys.count <= self.settings.maximumTagsPerDatastore else {
            throw HealthLakeError(code: .validation, message: "TagKeys may have at most \(self.settings.maximumTagsPerDatastore) keys")
        }
        for key in keys { try Self.validateTagKey(key) }
        try self.store.removeTags(datastoreID: id, keys: keys)
    }

    /// The tags of the datastore `resourceARN` names, sorted by key (HealthLake's
    /// `ListTagsForResource`).
    ///
    /// - Throws: ``HealthLakeError`` `ValidationException` for a malformed ARN,
    ///   `ResourceNotFoundException` for an unknown datastore.
    public func listTags(resourceARN: String) throws -> [(key: String, value: String)] {
        try self.store.tags(datastoreID: try self.datastoreID(fromARN: resourceARN))
    }

    /// Checks tags as HealthLake does (see ``tagResource(resourceARN:tags:)``).
    func validateTags(_ tags: [(key: String, value: String)]) throws {
        guard tags.count <= self.settings.maximumTagsPerDatastore else {
            throw HealthLakeError(code: .validation, message: "at most \(self.settings.maximumTagsPerDatastore) tags are allowed, got \(tags.count)")
        }
        var seen: Set<String> = []
        for (key, value) in tags {
            try Self.validateTagKey(key)
            guard value.count <= 256, Self.isTagText(value) else {
                throw HealthLakeError(
                    code: .validation,
                    message: "the value of tag \"\(key)\" must be 0 to 256 characters: letters, numbers, spaces and _ . : / = + - @")
            }
            guard seen.insert(key).inserted else {
                throw HealthLakeError(code: .validation, message: "tag key \"\(key.prefix(128))\" is given more than once")
            }
        }
    }

    static func validateTagKey(_ key: String) throws {
        guard (1...128).contains(key.count), Self.isTagText(key) else {
            throw HealthLakeError(
                code: .validation,
                message: "a tag key must be 1 to 128 characters: letters, numbers, spaces and _ . : / = + - @ (got \(key.count) characters)")
        }
    }

    /// HealthLake's tag pattern `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`.
    static func isTagText(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                .spaceSeparator, .lineSeparator, .paragraphSeparator,
                .decimalNumber, .letterNumber, .otherNumber:
                return true
            default:
                return "_.:/=+-@".unicodeScalars.contains(scalar)
            }
        }
    }

    /// The datastore id in `arn:aws:healthlake:REGION:ACCOUNT:datastore/fhir/ID`.
    ///
    /// - Throws: ``HealthLakeError`` `ValidationException` when it is not a datastore ARN,
    ///   `ResourceNotFoundException` when it names another region or account than this service's.
    func datastoreID(fromARN arn: String) throws -> String {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
        let prefix = "datastore/fhir/"
        guard arn.utf8.count <= 2048, parts.count == 6, parts[0] == "arn", parts[1] == "aws", parts[2] == "healthlake",
            parts[5].hasPrefix(prefix), !parts[5].dropFirst(prefix.count).isEmpty
        else {
            throw HealthLakeError(
                code: .validation, message: "ResourceARN must be arn:aws:healthlake:REGION:ACCOUNT:datastore/fhir/DATASTORE_ID")
        }
        let id = String(parts[5].dropFirst(prefix.count))
        guard parts[3] == self.settings.region, parts[4] == self.settings.accountID else {
            throw HealthLakeError(code: .resourceNotFound, message: "datastore \(id.prefix(64)) not found in \(parts[3].prefix(32)) of account \(parts[4].prefix(32))")
        }
        return id
    }
}

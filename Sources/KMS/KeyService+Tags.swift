import GRDB

extension KeyService {
    /// `TagResource`: adds tags, replacing the values of tag keys the key already has.
    ///
    /// - Throws: ``KMSError`` `TagException` for an empty, too long, duplicated or `aws:` tag
    ///   key or a too long value; `LimitExceededException` past
    ///   ``KeyServiceLimits/maximumTagsPerKey``; `NotFoundException`, `AccessDeniedException`,
    ///   `KMSInvalidStateException`.
    public func tagResource(keyID: String, tags: [KeyTag], caller context: CallerContext) async throws {
        try await self.perform(.tagResource, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: KMSOperation.tagResource.action, grantOperation: nil, notes: notes)
            try KMSOperation.tagResource.checkKeyState(key)
            try self.validateTags(tags, existing: try KeyStore.tags(db, keyID: key.keyID))
            notes.setParameter("tags", .array(tags.map { ["tagKey": .string($0.key), "tagValue": .string($0.value)] }))
            try KeyStore.putTags(db, keyID: key.keyID, tags)
        }
    }

    /// `UntagResource`: removes tags by key; keys the resource does not have are ignored.
    ///
    /// - Throws: ``KMSError`` `TagException` for an invalid tag key; `NotFoundException`,
    ///   `AccessDeniedException`, `KMSInvalidStateException`.
    public func untagResource(keyID: String, tagKeys: [String], caller context: CallerContext) async throws {
        try await self.perform(.untagResource, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: KMSOperation.untagResource.action, grantOperation: nil, notes: notes)
            try KMSOperation.untagResource.checkKeyState(key)
            for tagKey in tagKeys { try self.validateTagKey(tagKey) }
            notes.setParameter("tagKeys", .array(tagKeys.map(AuditJSON.string)))
            try KeyStore.removeTags(db, keyID: key.keyID, keys: tagKeys)
        }
    }

    /// `ListResourceTags`, ordered by tag key.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`, `ValidationException`
    ///   (Limit), `InvalidMarkerException`.
    public func listResourceTags(keyID: String, limit: Int? = nil, marker: String? = nil, caller context: CallerContext) async throws -> Page<KeyTag> {
        try await self.perform(.listResourceTags, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            let size = try self.pageSize(limit)
            let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: KMSOperation.listResourceTags.action, grantOperation: nil, notes: notes)
            let tags = try KeyStore.tags(db, keyID: key.keyID).filter { marker == nil || $0.key > marker! }
            let entries = Array(tags.prefix(size))
            return Page(entries: entries, nextMarker: tags.count > size ? entries.last?.key : nil)
        }
    }

    func validateTags(_ tags: [KeyTag], existing: [KeyTag]) throws {
        var seen = Set<String>()
        for tag in tags {
            try self.validateTagKey(tag.key)
            guard tag.value.count <= self.limits.maximumTagValueCharacters else {
                throw KMSError(code: .tag, message: "tag values are at most \(self.limits.maximumTagValueCharacters) characters")
            }
            guard seen.insert(tag.key).inserted else {
                throw KMSError(code: .tag, message: "tag key \(KeyReference.clipped(tag.key)) appears more than once")
            }
        }
        let total = seen.union(existing.map(\.key)).count
        guard total <= self.limits.maximumTagsPerKey else {
            throw KMSError(code: .limitExceeded, message: "a key may have at most \(self.limits.maximumTagsPerKey) tags")
        }
    }

    func validateTagKey(_ key: String) throws {
        guard !key.isEmpty, key.count <= self.limits.maximumTagKeyCharacters else {
            throw KMSError(code: .tag, message: "tag keys are 1 to \(self.limits.maximumTagKeyCharacters) characters")
        }
        guard !key.lowercased().hasPrefix("aws:") else {
            throw KMSError(code: .tag, message: "tag keys beginning with aws: are reserved")
        }
    }
}

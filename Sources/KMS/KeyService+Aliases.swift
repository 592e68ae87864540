import GRDB

/// One entry of `ListAliases`.
public struct AliasListEntry: Hashable, Sendable {
    /// The alias.
    public var alias: KeyAlias
    /// `arn:<partition>:kms:<region>:<account>:alias/<name>`.
    public var aliasARN: String
}

extension KeyService {
    /// `CreateAlias`: a new alias for a customer-managed key.
    ///
    /// - Throws: ``KMSError`` `InvalidAliasNameException` (malformed, or `alias/aws/…`),
    ///   `AlreadyExistsException`, `NotFoundException`, `AccessDeniedException`,
    ///   `KMSInvalidStateException` (target pending deletion), `ValidationException` (target
    ///   given as an alias), `UnsupportedOperationException` (service-owned key).
    public func createAlias(aliasName: String, targetKeyID: String, caller context: CallerContext) async throws {
        let parameters: [String: AuditJSON] = ["aliasName": .string(self.clipped(aliasName)), "targetKeyId": .string(self.clipped(targetKeyID))]
        try await self.perform(.createAlias, context, requestParameters: parameters) { db, caller, notes in
            try KeyStore.validateAliasName(aliasName)
            let key = try self.aliasTarget(db, targetKeyID, .createAlias, caller, notes)
            try KeyStore.insertAlias(db, name: aliasName, keyID: key.keyID, date: self.clock.now())
        }
    }

    /// `UpdateAlias`: points an existing alias at another key. Needs `kms:UpdateAlias` on both.
    ///
    /// - Throws: as ``createAlias(aliasName:targetKeyID:caller:)``; `NotFoundException` when the
    ///   alias does not exist.
    public func updateAlias(aliasName: String, targetKeyID: String, caller context: CallerContext) async throws {
        let parameters: [String: AuditJSON] = ["aliasName": .string(self.clipped(aliasName)), "targetKeyId": .string(self.clipped(targetKeyID))]
        try await self.perform(.updateAlias, context, requestParameters: parameters) { db, caller, notes in
            try KeyStore.validateAliasName(aliasName)
            guard let currentID = try KeyStore.aliasTarget(db, name: aliasName) else {
                throw KMSError.notFound("Alias \(self.identity.aliasARN(aliasName)) is not found.")
            }
            let current = try self.visibleKey(db, currentID, caller: caller, notes: notes)
            try self.authorize(db, current, caller: caller, action: KMSOperation.updateAlias.action, grantOperation: nil, notes: notes)
            let key = try self.aliasTarget(db, targetKeyID, .updateAlias, caller, notes)
            try KeyStore.retargetAlias(db, name: aliasName, keyID: key.keyID, date: self.clock.now())
        }
    }

    /// `DeleteAlias`; the key is unaffected. Needs `kms:DeleteAlias` on the key it points at.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`,
    ///   `InvalidAliasNameException`.
    public func deleteAlias(aliasName: String, caller context: CallerContext) async throws {
        try await self.perform(.deleteAlias, context, requestParameters: ["aliasName": .string(self.clipped(aliasName))]) { db, caller, notes in
            try KeyStore.validateAliasName(aliasName)
            guard let keyID = try KeyStore.aliasTarget(db, name: aliasName) else {
                throw KMSError.notFound("Alias \(self.identity.aliasARN(aliasName)) is not found.")
            }
            let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: KMSOperation.deleteAlias.action, grantOperation: nil, notes: notes)
            try KeyStore.removeAlias(db, name: aliasName)
        }
    }

    /// `ListAliases`: aliases of customer-managed keys, optionally of one key, by name.
    ///
    /// - Throws: ``KMSError`` `AccessDeniedException`, `NotFoundException` (key),
    ///   `ValidationException` (Limit), `InvalidMarkerException`.
    public func listAliases(keyID: String? = nil, limit: Int? = nil, marker: String? = nil, caller context: CallerContext) async throws -> Page<AliasListEntry> {
        var parameters: [String: AuditJSON] = [:]
        if let keyID { parameters["keyId"] = .string(self.clipped(keyID)) }
        return try await self.perform(.listAliases, context, requestParameters: parameters) { db, caller, notes in
            let size = try self.pageSize(limit)
            if let marker, !marker.hasPrefix("alias/") {
                throw KMSError(code: .invalidMarker, message: "Marker is not one this service returned")
            }
            if caller.isServiceActingForItself {
                // Service-owned keys have no aliases.
                return Page(entries: [], nextMarker: nil)
            }
            try self.authorizeAccountAction(KMSOperation.listAliases.action, caller: caller)
            let key = try keyID.map { try self.visibleKey(db, $0, caller: caller, notes: notes) }
            let aliases = try KeyStore.aliases(db, keyID: key?.keyID, after: marker, limit: size + 1)
            let entries = aliases.prefix(size).map { AliasListEntry(alias: $0, aliasARN: self.identity.aliasARN($0.aliasName)) }
            return Page(entries: Array(entries), nextMarker: aliases.count > size ? entries.last?.alias.aliasName : nil)
        }
    }

    /// Resolves, authorises and state-checks the target of `CreateAlias`/`UpdateAlias`.
    private func aliasTarget(_ db: Database, _ targetKeyID: String, _ operation: KMSOperation, _ caller: ResolvedCaller, _ notes: AuditNotes) throws -> KeyMetadata {
        guard case .key = try KeyReference(parsing: targetKeyID, identity: self.identity, limits: self.limits) else {
            throw KMSError.validation("TargetKeyId must be a key id or key ARN, not an alias")
        }
        let key = try self.visibleKey(db, targetKeyID, caller: caller, notes: notes)
        try self.authorize(db, key, caller: caller, action: operation.action, grantOperation: nil, notes: notes)
        guard key.kind == .customerManaged else {
            throw KMSError(code: .unsupportedOperation, message: "service-owned keys cannot have aliases")
        }
        try operation.checkKeyState(key)
        return key
    }
}

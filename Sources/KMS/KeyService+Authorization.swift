import GRDB

extension KeyService {
    /// Applies the on-behalf-of rule: only a registered service may act for another principal,
    /// only for an IAM principal, and only for the operations that service forwards
    /// (``KeyServiceConfiguration/onBehalfOfOperations(of:)``: a data service's are describe,
    /// grants, and data keys, never key administration).
    ///
    /// - Throws: ``KMSError`` `AccessDeniedException` when a principal that is not a registered
    ///   service sends `onBehalfOf`, a service names something other than an IAM principal, or
    ///   asks for an operation it may not perform on behalf of others.
    func resolve(_ context: CallerContext, operation: KMSOperation, notes: AuditNotes) throws -> ResolvedCaller {
        guard !context.principal.isEmpty else {
            throw KMSError.accessDenied("the request carries no authenticated principal")
        }
        let isService = self.configuration.servicePrincipals.contains(context.principal)
        guard let onBehalfOf = context.onBehalfOf else {
            return ResolvedCaller(principal: context.principal, peer: context.principal, viaService: nil, isServiceActingForItself: isService)
        }
        guard isService else {
            notes.addEventData("refusedOnBehalfOf", .string(self.clipped(onBehalfOf)))
            throw KMSError.accessDenied(
                "\(context.principal) is not a registered service principal and may not act on behalf of another principal"
            )
        }
        guard onBehalfOf.count <= self.limits.maximumPrincipalCharacters, let arn = ParsedARN(onBehalfOf),
            arn.service == "iam" || arn.service == "sts", AccountID.isValid(arn.account),
            !self.configuration.servicePrincipals.contains(onBehalfOf)
        else {
            notes.addEventData("refusedOnBehalfOf", .string(self.clipped(onBehalfOf)))
            throw KMSError.accessDenied("onBehalfOf must name an IAM principal ARN")
        }
        guard self.configuration.onBehalfOfOperations(of: context.principal).contains(operation) else {
            notes.addEventData("refusedOnBehalfOf", .string(self.clipped(onBehalfOf)))
            throw KMSError.accessDenied(
                "\(context.principal) may not call \(operation.rawValue) on behalf of another principal")
        }
        return ResolvedCaller(principal: onBehalfOf, peer: context.principal, viaService: context.principal, isServiceActingForItself: false)
    }

    /// The key a `KeyId` names, as far as this caller may know: a service-owned key is
    /// `NotFoundException` for everyone but its service calling for itself, with the same
    /// message as a missing key.
    func visibleKey(_ db: Database, _ keyID: String, caller: ResolvedCaller, notes: AuditNotes) throws -> KeyMetadata {
        try self.visibleKey(DatabaseKeyLookup(db, store: self.store), keyID, caller: caller, notes: notes)
    }

    /// As the overload on a `Database`, reading through `lookup`.
    func visibleKey(_ lookup: some KeyLookup, _ keyID: String, caller: ResolvedCaller, notes: AuditNotes) throws -> KeyMetadata {
        let reference = try KeyReference(parsing: keyID, identity: self.identity, limits: self.limits)
        let id: KeyID
        switch reference {
        case .key(let key):
            id = key
        case .alias(let name):
            guard let target = try lookup.aliasTarget(name) else {
                throw KMSError.notFound("Alias \(self.identity.aliasARN(KeyReference.clipped(name))) is not found.")
            }
            id = target
        }
        return try self.visibleKey(lookup, id, caller: caller, notes: notes)
    }

    /// The key with this id, as far as this caller may know (see the other overload).
    func visibleKey(_ db: Database, _ id: KeyID, caller: ResolvedCaller, notes: AuditNotes) throws -> KeyMetadata {
        try self.visibleKey(DatabaseKeyLookup(db, store: self.store), id, caller: caller, notes: notes)
    }

    /// As the overload on a `Database`, reading through `lookup`.
    func visibleKey(_ lookup: some KeyLookup, _ id: KeyID, caller: ResolvedCaller, notes: AuditNotes) throws -> KeyMetadata {
        let missing = KMSError.notFound("Key '\(self.identity.keyARN(id))' does not exist")
        let key: KeyMetadata
        do {
            key = try lookup.key(id)
        } catch let error as KMSError where error.code == .notFound {
            throw missing
        }
        if key.kind == .serviceOwned && !caller.owns(key) { throw missing }
        notes.touched(key)
        return key
    }

    /// Decides whether `caller` may do `action` on `key`: its key policy allows it, or (when
    /// `grantOperation` is given and the policy does not explicitly deny) one of the caller's
    /// grants does. A service-owned key is usable only by its own service.
    ///
    /// - Throws: ``KMSError`` `AccessDeniedException`.
    func authorize(
        _ db: Database,
        _ key: KeyMetadata,
        caller: ResolvedCaller,
        action: String,
        grantOperation: GrantOperation?,
        context: EncryptionContext = [:],
        grantFacts: GrantRequestFacts? = nil,
        notes: AuditNotes
    ) throws {
        try self.authorize(
            DatabaseKeyLookup(db, store: self.store), key, caller: caller, action: action, grantOperation: grantOperation,
            context: context, grantFacts: grantFacts, notes: notes
        )
    }

    /// As the overload on a `Database`, reading through `lookup`.
    func authorize(
        _ lookup: some KeyLookup,
        _ key: KeyMetadata,
        caller: ResolvedCaller,
        action: String,
        grantOperation: GrantOperation?,
        context: EncryptionContext = [:],
        grantFacts: GrantRequestFacts? = nil,
        notes: AuditNotes
    ) throws {
        if key.kind == .serviceOwned {
            guard caller.owns(key) else {
                throw KMSError.notFound("Key '\(key.arn)' does not exist")
            }
            return
        }
        let request = PolicyRequestContext(
            principal: caller.principal,
            action: action,
            resource: key.arn,
            viaService: caller.viaService,
            encryptionContext: context,
            grantOperations: grantFacts?.operations.map(\.rawValue),
            grantIsForAWSResource: grantFacts.map { _ in caller.viaService != nil },
            granteePrincipal: grantFacts?.granteePrincipal,
            retiringPrincipal: grantFacts?.retiringPrincipal
        )
        let policy = try lookup.policy(key.keyID)
        switch self.evaluator.evaluate(policy, for: request) {
        case .allowed:
            return
        case .explicitlyDenied:
            throw KMSError.accessDenied(
                "User: \(caller.principal) is not authorized to perform: \(action) on resource: \(key.arn) with an explicit deny in a resource-based policy"
            )
        case .implicitlyDenied:
            if let grantOperation {
                let grants = try lookup.grants(key.keyID, grantee: caller.principal)
                if let grant = grants.first(where: { grant in
                    grant.allows(grantOperation, principal: caller.principal, context: context)
                        && (grantFacts.map { $0.isWithin(grant) } ?? true)
                }) {
                    notes.addEventData("grantId", .string(grant.grantID))
                    return
                }
            }
            throw KMSError.accessDenied(
                "User: \(caller.principal) is not authorized to perform: \(action) on resource: \(key.arn) because no resource-based policy allows the \(action) action"
            )
        }
    }

    /// Decides a call that names no key against the account policy (the stand-in for IAM).
    ///
    /// - Throws: ``KMSError`` `AccessDeniedException`.
    func authorizeAccountAction(_ action: String, caller: ResolvedCaller) throws {
        let request = PolicyRequestContext(principal: caller.principal, action: action, resource: "*", viaService: caller.viaService)
        guard self.evaluator.evaluate(self.configuration.accountPolicy, for: request).isAllowed else {
            throw KMSError.accessDenied("User: \(caller.principal) is not authorized to perform: \(action)")
        }
    }

    /// Validates a list call's `Limit`.
    ///
    /// - Throws: ``KMSError`` `ValidationException` outside 1…``KeyServiceLimits/maximumPageSize``.
    func pageSize(_ limit: Int?) throws -> Int {
        guard let limit else { return self.limits.defaultPageSize }
        guard limit >= 1, limit <= self.limits.maximumPageSize else {
            throw KMSError.validation("Limit must be between 1 and \(self.limits.maximumPageSize)")
        }
        return limit
    }

    /// Validates a principal named in a request (grantee, retiring principal).
    func validatePrincipal(_ principal: String, _ name: String) throws {
        guard !principal.isEmpty, principal.count <= self.limits.maximumPrincipalCharacters,
            !principal.contains(where: { $0.isWhitespace || $0.isNewline })
        else {
            throw KMSError.validation("\(name) must be 1 to \(self.limits.maximumPrincipalCharacters) characters without spaces")
        }
    }

    /// Validates and converts a caller's encryption context.
    func validatedContext(_ pairs: [String: String]) throws -> EncryptionContext {
        let context = EncryptionContext(pairs)
        try context.validate(limits: self.configuration.ciphertextLimits)
        return context
    }
}

/// The facts a `CreateGrant` request contributes to its own authorization.
struct GrantRequestFacts: Sendable {
    var operations: [GrantOperation]
    var granteePrincipal: String
    var retiringPrincipal: String?
    var constraints: GrantConstraints

    /// Whether a grant with `CreateGrant` may create this one: no more operations, and at least
    /// the parent's constraints.
    func isWithin(_ parent: Grant) -> Bool {
        Set(self.operations).isSubset(of: Set(parent.operations))
            && (parent.constraints.isEmpty || parent.constraints == self.constraints)
    }
}

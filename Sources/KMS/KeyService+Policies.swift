import GRDB

extension KeyService {
    /// `PutKeyPolicy`: replaces the key's only policy, `default`.
    ///
    /// - Throws: ``KMSError`` `NotFoundException` (key, or a policy name other than `default`),
    ///   `AccessDeniedException`, `MalformedPolicyDocumentException` (naming the problem, or
    ///   because the new policy would stop the caller from changing it again),
    ///   `UnsupportedOperationException` for service-owned keys.
    public func putKeyPolicy(
        keyID: String,
        policyName: String = KeyPolicy.defaultName,
        policy document: String,
        bypassPolicyLockoutSafetyCheck: Bool = false,
        caller context: CallerContext
    ) async throws {
        let parameters: [String: AuditJSON] = [
            "keyId": .string(self.clipped(keyID)), "policyName": .string(self.clipped(policyName)),
            "bypassPolicyLockoutSafetyCheck": .bool(bypassPolicyLockoutSafetyCheck),
        ]
        try await self.perform(.putKeyPolicy, context, requestParameters: parameters) { db, caller, notes in
            let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: KMSOperation.putKeyPolicy.action, grantOperation: nil, notes: notes)
            guard key.kind == .customerManaged else {
                throw KMSError(code: .unsupportedOperation, message: "service-owned keys have a fixed key policy")
            }
            guard policyName == KeyPolicy.defaultName else {
                throw KMSError.notFound("a key has one policy, named \(KeyPolicy.defaultName)")
            }
            let policy = try self.parsePolicy(document)
            if !bypassPolicyLockoutSafetyCheck {
                try self.checkLockout(policy, caller: caller, resource: key.arn)
            }
            try KeyStore.putPolicy(db, policy, keyID: key.keyID)
        }
    }

    /// `GetKeyPolicy`: the document exactly as stored.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`.
    public func getKeyPolicy(keyID: String, policyName: String = KeyPolicy.defaultName, caller context: CallerContext) async throws -> String {
        let parameters: [String: AuditJSON] = ["keyId": .string(self.clipped(keyID)), "policyName": .string(self.clipped(policyName))]
        return try await self.perform(.getKeyPolicy, context, requestParameters: parameters) { db, caller, notes in
            let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: KMSOperation.getKeyPolicy.action, grantOperation: nil, notes: notes)
            guard policyName == KeyPolicy.defaultName else {
                throw KMSError.notFound("a key has one policy, named \(KeyPolicy.defaultName)")
            }
            return try self.store.policy(db, keyID: key.keyID).document
        }
    }

    /// `ListKeyPolicies`: always `["default"]`.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`.
    public func listKeyPolicies(keyID: String, caller context: CallerContext) async throws -> [String] {
        try await self.perform(.listKeyPolicies, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: KMSOperation.listKeyPolicies.action, grantOperation: nil, notes: notes)
            return [KeyPolicy.defaultName]
        }
    }

    /// Parses a caller's policy document; errors are `MalformedPolicyDocumentException`.
    func parsePolicy(_ document: String) throws -> KeyPolicy {
        do {
            return try KeyPolicy(parsing: document)
        } catch let error as KMSError {
            throw KMSError.malformedPolicyDocument(error.message)
        }
    }

    /// AWS's lockout safety check: a new policy must still let the caller `PutKeyPolicy`.
    func checkLockout(_ policy: KeyPolicy, caller: ResolvedCaller, resource: String) throws {
        let request = PolicyRequestContext(
            principal: caller.principal,
            action: KMSOperation.putKeyPolicy.action,
            resource: resource,
            viaService: caller.viaService
        )
        guard self.evaluator.evaluate(policy, for: request).isAllowed else {
            throw KMSError.malformedPolicyDocument(
                "The new key policy will not allow you to update the key policy in the future"
            )
        }
    }

    /// The fixed policy of a service-owned key: its service may do everything.
    func serviceOwnedPolicy(for service: String) throws -> KeyPolicy {
        try KeyPolicy(
            parsing: """
                {"Version":"2012-10-17","Id":"service-owned-key","Statement":[{"Sid":"OwnerService","Effect":"Allow",\
                "Principal":{"Service":"\(service)"},"Action":"kms:*","Resource":"*"}]}
                """
        )
    }
}

import Foundation
import GRDB

/// What `CreateKey` asks for.
public struct CreateKeyRequest: Hashable, Sendable {
    /// The description, at most ``KeyStoreLimits/maximumDescriptionCharacters``.
    public var description: String
    /// The key policy document; `nil` installs the default policy (account root may do everything).
    public var policy: String?
    /// Skips the check that the policy still lets the caller change it.
    public var bypassPolicyLockoutSafetyCheck: Bool
    /// Tags to put on the key.
    public var tags: [KeyTag]

    /// Creates a request.
    public init(description: String = "", policy: String? = nil, bypassPolicyLockoutSafetyCheck: Bool = false, tags: [KeyTag] = []) {
        self.description = description
        self.policy = policy
        self.bypassPolicyLockoutSafetyCheck = bypassPolicyLockoutSafetyCheck
        self.tags = tags
    }
}

/// One entry of `ListKeys`.
public struct KeyListEntry: Hashable, Sendable {
    /// The key id.
    public var keyID: KeyID
    /// The key ARN.
    public var keyARN: String
}

/// A page of a list call.
public struct Page<Element: Hashable & Sendable>: Hashable, Sendable {
    /// The entries.
    public var entries: [Element]
    /// Pass back as `Marker` for the next page; `nil` when this is the last.
    public var nextMarker: String?
    /// Whether more entries follow.
    public var truncated: Bool { self.nextMarker != nil }
}

extension KeyService {
    /// `CreateKey`: a new symmetric encryption key, enabled, with fresh material.
    ///
    /// A registered service principal calling for itself creates a **service-owned** key that
    /// only it can see and use; its policy lets that service do everything and is fixed.
    /// Everyone else creates a customer-managed key, if the account policy allows `kms:CreateKey`.
    ///
    /// - Throws: ``KMSError`` `AccessDeniedException`; `MalformedPolicyDocumentException` for a
    ///   policy that does not parse or would lock the caller out; `ValidationException`,
    ///   `TagException`, `LimitExceededException` for bad descriptions or tags.
    public func createKey(_ request: CreateKeyRequest, caller context: CallerContext) async throws -> KeyMetadata {
        var parameters: [String: AuditJSON] = [
            "keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT",
            "bypassPolicyLockoutSafetyCheck": .bool(request.bypassPolicyLockoutSafetyCheck),
        ]
        if request.description.count <= self.configuration.keyStoreLimits.maximumDescriptionCharacters {
            parameters["description"] = .string(request.description)
        }
        return try await self.perform(.createKey, context, requestParameters: parameters) { db, caller, notes in
            try self.validateTags(request.tags, existing: [])
            let newKey: NewKeyRequest
            if caller.isServiceActingForItself {
                guard request.policy == nil else {
                    throw KMSError(code: .unsupportedOperation, message: "service-owned keys have a fixed key policy")
                }
                newKey = NewKeyRequest(
                    kind: .serviceOwned,
                    ownerService: caller.peer,
                    description: request.description,
                    policy: try self.serviceOwnedPolicy(for: caller.peer)
                )
            } else {
                try self.authorizeAccountAction(KMSOperation.createKey.action, caller: caller)
                let policy = try request.policy.map { try self.parsePolicy($0) }
                if let policy, !request.bypassPolicyLockoutSafetyCheck {
                    try self.checkLockout(policy, caller: caller, resource: "*")
                }
                newKey = NewKeyRequest(description: request.description, policy: policy)
            }
            let key = try self.store.insertKey(db, newKey)
            try KeyStore.putTags(db, keyID: key.keyID, request.tags)
            notes.touched(key)
            notes.respond(["keyMetadata": ["keyId": .string(key.keyID.description), "arn": .string(key.arn)]])
            return key
        }
    }

    /// `DescribeKey`.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`.
    public func describeKey(keyID: String, caller context: CallerContext) async throws -> KeyMetadata {
        try await self.perform(.describeKey, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            var key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: KMSOperation.describeKey.action, grantOperation: .describeKey, notes: notes)
            if key.state == .pendingDeletion { key.rotationEnabled = false }
            return key
        }
    }

    /// `ListKeys`: customer-managed keys for customers; a registered service calling for itself
    /// sees only its own service-owned keys.
    ///
    /// - Throws: ``KMSError`` `AccessDeniedException`, `ValidationException` (Limit),
    ///   `InvalidMarkerException`.
    public func listKeys(limit: Int? = nil, marker: String? = nil, caller context: CallerContext) async throws -> Page<KeyListEntry> {
        var parameters: [String: AuditJSON] = [:]
        if let limit { parameters["limit"] = .int(limit) }
        return try await self.perform(.listKeys, context, requestParameters: parameters) { db, caller, _ in
            let size = try self.pageSize(limit)
            var after: String?
            if let marker {
                guard let keyID = KeyID(marker) else {
                    throw KMSError(code: .invalidMarker, message: "Marker is not one this service returned")
                }
                after = keyID.description
            }
            let keys: [KeyMetadata]
            if caller.isServiceActingForItself {
                keys = try KeyStore.keys(db, kind: .serviceOwned, ownerService: caller.peer, after: after, limit: size + 1)
            } else {
                try self.authorizeAccountAction(KMSOperation.listKeys.action, caller: caller)
                keys = try KeyStore.keys(db, kind: .customerManaged, ownerService: nil, after: after, limit: size + 1)
            }
            let entries = keys.prefix(size).map { KeyListEntry(keyID: $0.keyID, keyARN: $0.arn) }
            return Page(entries: Array(entries), nextMarker: keys.count > size ? entries.last?.keyID.description : nil)
        }
    }

    /// `EnableKey`.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`,
    ///   `KMSInvalidStateException` when pending deletion.
    public func enableKey(keyID: String, caller context: CallerContext) async throws {
        try await self.changeState(.enableKey, keyID: keyID, to: .enabled, context)
    }

    /// `DisableKey`: cryptographic operations fail with `DisabledException` from the moment this
    /// returns.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`,
    ///   `KMSInvalidStateException` when pending deletion.
    public func disableKey(keyID: String, caller context: CallerContext) async throws {
        try await self.changeState(.disableKey, keyID: keyID, to: .disabled, context)
    }

    private func changeState(_ operation: KMSOperation, keyID: String, to state: KeyState, _ context: CallerContext) async throws {
        try await self.perform(operation, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: operation.action, grantOperation: nil, notes: notes)
            try operation.checkKeyState(key)
            try KeyStore.setState(db, state, deletionDate: nil, for: key.keyID)
        }
    }

    /// `UpdateKeyDescription`.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`,
    ///   `KMSInvalidStateException`, `ValidationException` for a description over the limit.
    public func updateKeyDescription(keyID: String, description: String, caller context: CallerContext) async throws {
        let maximum = self.configuration.keyStoreLimits.maximumDescriptionCharacters
        try await self.perform(.updateKeyDescription, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            guard description.count <= maximum else {
                throw KMSError.validation("description is longer than \(maximum) characters")
            }
            notes.setParameter("description", .string(description))
            let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: KMSOperation.updateKeyDescription.action, grantOperation: nil, notes: notes)
            try KMSOperation.updateKeyDescription.checkKeyState(key)
            try KeyStore.setDescription(db, description, keyID: key.keyID)
        }
    }
}

import Foundation
import GRDB

extension KeyService {
    /// `EnableKeyRotation`: rotate automatically every `rotationPeriodInDays` (90–2,560,
    /// default 365), first one period from now.
    ///
    /// - Throws: ``KMSError`` `ValidationException` (period), `NotFoundException`,
    ///   `AccessDeniedException`, `DisabledException`, `KMSInvalidStateException`.
    public func enableKeyRotation(keyID: String, rotationPeriodInDays: Int? = nil, caller context: CallerContext) async throws {
        var parameters: [String: AuditJSON] = ["keyId": .string(self.clipped(keyID))]
        if let rotationPeriodInDays { parameters["rotationPeriodInDays"] = .int(rotationPeriodInDays) }
        try await self.perform(.enableKeyRotation, context, requestParameters: parameters) { db, caller, notes in
            let period = rotationPeriodInDays ?? self.limits.defaultRotationPeriodInDays
            guard period >= self.limits.minimumRotationPeriodInDays, period <= self.limits.maximumRotationPeriodInDays else {
                throw KMSError.validation(
                    "RotationPeriodInDays must be between \(self.limits.minimumRotationPeriodInDays) and \(self.limits.maximumRotationPeriodInDays)"
                )
            }
            let key = try self.managedKey(db, keyID, .enableKeyRotation, caller, notes)
            try KeyStore.setRotation(db, keyID: key.keyID, periodInDays: period, nextRotationDate: self.clock.now().addingTimeInterval(Self.days(period)))
        }
    }

    /// `DisableKeyRotation`.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`, `DisabledException`,
    ///   `KMSInvalidStateException`.
    public func disableKeyRotation(keyID: String, caller context: CallerContext) async throws {
        try await self.perform(.disableKeyRotation, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            let key = try self.managedKey(db, keyID, .disableKeyRotation, caller, notes)
            try KeyStore.setRotation(db, keyID: key.keyID, periodInDays: nil, nextRotationDate: nil)
        }
    }

    /// `GetKeyRotationStatus`.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`.
    public func getKeyRotationStatus(keyID: String, caller context: CallerContext) async throws -> KeyRotationStatus {
        try await self.perform(.getKeyRotationStatus, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            let key = try self.managedKey(db, keyID, .getKeyRotationStatus, caller, notes)
            let enabled = key.rotationEnabled && key.state != .pendingDeletion
            return KeyRotationStatus(
                keyARN: key.arn,
                keyRotationEnabled: enabled,
                rotationPeriodInDays: enabled ? key.rotationPeriodInDays : nil,
                nextRotationDate: enabled ? try KeyStore.nextRotationDate(db, keyID: key.keyID) : nil
            )
        }
    }

    /// `RotateKeyOnDemand`: new material now; older versions keep decrypting. At most
    /// ``KeyServiceLimits/maximumOnDemandRotations`` per key.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`, `DisabledException`,
    ///   `KMSInvalidStateException`, `LimitExceededException`.
    @discardableResult
    public func rotateKeyOnDemand(keyID: String, caller context: CallerContext) async throws -> String {
        try await self.perform(.rotateKeyOnDemand, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            let key = try self.managedKey(db, keyID, .rotateKeyOnDemand, caller, notes)
            guard try KeyStore.onDemandRotationCount(db, keyID: key.keyID) < self.limits.maximumOnDemandRotations else {
                throw KMSError(code: .limitExceeded, message: "key \(key.keyID) has used its \(self.limits.maximumOnDemandRotations) on-demand rotations")
            }
            _ = try self.store.rotate(db, keyID: key.keyID, onDemand: true)
            notes.respond(["keyId": .string(key.arn)])
            return key.arn
        }
    }

    /// `ListKeyRotations`: completed rotations, oldest first.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`, `ValidationException`,
    ///   `InvalidMarkerException`.
    public func listKeyRotations(keyID: String, limit: Int? = nil, marker: String? = nil, caller context: CallerContext) async throws -> Page<KeyRotation> {
        try await self.perform(.listKeyRotations, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            let size = try self.pageSize(limit)
            var after: UInt32 = 0
            if let marker {
                guard let version = UInt32(marker) else {
                    throw KMSError(code: .invalidMarker, message: "Marker is not one this service returned")
                }
                after = version
            }
            let key = try self.managedKey(db, keyID, .listKeyRotations, caller, notes)
            let rotations = try KeyStore.rotations(db, keyID: key.keyID, afterVersion: after, limit: size + 1)
            let entries = Array(rotations.prefix(size))
            return Page(entries: entries, nextMarker: rotations.count > size ? entries.last.map { String($0.materialVersion) } : nil)
        }
    }

    /// Rotates every enabled key whose rotation is due at `now`; each rotation is its own
    /// transaction with a `RotateKey` audit event from the key service itself.
    ///
    /// - Returns: The keys rotated.
    @discardableResult
    public func rotateDueKeys(now: Date) async throws -> [KeyID] {
        let due = try await self.store.database.read { db in try KeyStore.keysDueForRotation(db, at: now) }
        var rotated = [KeyID]()
        for keyID in due {
            // Through the writer and under the change gate, like any other change: its event is
            // chained after every call decided before it and before every call decided after.
            let done = try await self.gate.change { try await self.store.directory.change { try await self.writer.write { db -> Bool in
                // Re-check inside the transaction: the key may have changed since the scan.
                guard let key = try? KeyStore.fetchKey(db, keyID), key.state == .enabled, key.rotationEnabled,
                    let period = key.rotationPeriodInDays, let next = try KeyStore.nextRotationDate(db, keyID: keyID), next <= now
                else { return false }
                _ = try self.store.rotate(db, keyID: keyID, onDemand: false)
                try KeyStore.setRotation(db, keyID: keyID, periodInDays: period, nextRotationDate: now.addingTimeInterval(Self.days(period)))
                try self.auditTrail.append(db, self.serviceEvent("RotateKey", key: key))
                return true
            } } }
            if done { rotated.append(keyID) }
        }
        return rotated
    }

    /// Looks up, authorises and state-checks a key for a management operation.
    func managedKey(_ db: Database, _ keyID: String, _ operation: KMSOperation, _ caller: ResolvedCaller, _ notes: AuditNotes) throws -> KeyMetadata {
        let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
        try self.authorize(db, key, caller: caller, action: operation.action, grantOperation: nil, notes: notes)
        try operation.checkKeyState(key)
        return key
    }

    /// An audit event for something the key service does by itself (rotation, deletion).
    func serviceEvent(_ name: String, key: KeyMetadata) -> AuditEventDraft {
        AuditEventDraft(
            eventName: name,
            eventSource: "kms.amazonaws.com",
            readOnly: false,
            userIdentity: ["type": "AWSService", "invokedBy": "kms.amazonaws.com", "accountId": .string(self.identity.accountID)],
            principal: "kms.amazonaws.com",
            requestParameters: nil,
            responseElements: nil,
            additionalEventData: ["keyId": .string(key.keyID.description)],
            resourceARNs: [key.arn],
            keyID: key.keyID,
            ownerService: key.ownerService,
            requestID: UUID().uuidString.lowercased(),
            sourceIPAddress: "kms.amazonaws.com",
            userAgent: "kms.amazonaws.com",
            errorCode: nil,
            errorMessage: nil
        )
    }

    static func days(_ count: Int) -> TimeInterval { TimeInterval(count) * 86_400 }
}

import Foundation
import GRDB
import Logging

extension KeyService {
    /// `ScheduleKeyDeletion`: the key becomes `PendingDeletion` at once (cryptographic
    /// operations fail with `KMSInvalidStateException`) and is destroyed by
    /// ``sweepExpiredDeletions(now:)`` after `pendingWindowInDays` (7–30, default 30).
    ///
    /// - Throws: ``KMSError`` `ValidationException` (window), `NotFoundException`,
    ///   `AccessDeniedException`, `KMSInvalidStateException` when already pending deletion.
    public func scheduleKeyDeletion(keyID: String, pendingWindowInDays: Int? = nil, caller context: CallerContext) async throws -> KeyDeletionSchedule {
        var parameters: [String: AuditJSON] = ["keyId": .string(self.clipped(keyID))]
        if let pendingWindowInDays { parameters["pendingWindowInDays"] = .int(pendingWindowInDays) }
        return try await self.perform(.scheduleKeyDeletion, context, requestParameters: parameters) { db, caller, notes in
            let window = pendingWindowInDays ?? self.limits.defaultPendingWindowInDays
            guard window >= self.limits.minimumPendingWindowInDays, window <= self.limits.maximumPendingWindowInDays else {
                throw KMSError.validation(
                    "PendingWindowInDays must be between \(self.limits.minimumPendingWindowInDays) and \(self.limits.maximumPendingWindowInDays)"
                )
            }
            let key = try self.managedKey(db, keyID, .scheduleKeyDeletion, caller, notes)
            let deletionDate = self.clock.now().addingTimeInterval(Self.days(window))
            try KeyStore.setState(db, .pendingDeletion, deletionDate: deletionDate, for: key.keyID)
            notes.respond([
                "keyId": .string(key.arn), "keyState": "PendingDeletion", "pendingWindowInDays": .int(window),
                "deletionDate": .string(deletionDate.formatted(Date.ISO8601FormatStyle())),
            ])
            return KeyDeletionSchedule(keyARN: key.arn, deletionDate: deletionDate, keyState: .pendingDeletion, pendingWindowInDays: window)
        }
    }

    /// `CancelKeyDeletion`: the key returns as `Disabled`.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`,
    ///   `KMSInvalidStateException` when not pending deletion.
    @discardableResult
    public func cancelKeyDeletion(keyID: String, caller context: CallerContext) async throws -> String {
        try await self.perform(.cancelKeyDeletion, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            let key = try self.managedKey(db, keyID, .cancelKeyDeletion, caller, notes)
            try KeyStore.setState(db, .disabled, deletionDate: nil, for: key.keyID)
            notes.respond(["keyId": .string(key.arn)])
            return key.arn
        }
    }

    /// Destroys every key whose deletion window has ended at `now`: its material, policy,
    /// aliases, tags and grants go in one transaction with a `DeleteKey` audit event. Everything
    /// encrypted under the key is unrecoverable afterwards (`Decrypt` fails with
    /// `NotFoundException`). The database overwrites freed pages (`secure_delete`) and the
    /// write-ahead log is checkpointed and truncated, so no copy of the wrapped material remains.
    ///
    /// - Returns: The keys deleted.
    @discardableResult
    public func sweepExpiredDeletions(now: Date) async throws -> [KeyID] {
        let due = try await self.store.database.read { db in try KeyStore.keysDueForDeletion(db, at: now) }
        var deleted = [KeyID]()
        for keyID in due {
            // Through the writer and under the change gate, like any other change: its event is
            // chained after every call decided before it and before every call decided after.
            let done = try await self.gate.change { try await self.store.directory.change { try await self.writer.write { db -> Bool in
                guard let key = try? KeyStore.fetchKey(db, keyID), key.state == .pendingDeletion,
                    let date = key.deletionDate, date <= now
                else { return false }
                try KeyStore.deleteKey(db, keyID: keyID)
                try self.auditTrail.append(db, self.serviceEvent("DeleteKey", key: key))
                return true
            } } }
            if done {
                self.store.cache.evict(keyID)
                deleted.append(keyID)
            }
        }
        if !deleted.isEmpty {
            try await self.store.database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
            self.logger.notice("deleted keys whose deletion window ended", metadata: ["count": "\(deleted.count)"])
        }
        return deleted
    }
}

import Crypto
import Foundation
import GRDB

/// The append-only, hash-chained record of every call to the key service.
///
/// Events are CloudTrail-shaped JSON documents kept in the key store's own SQLite database, so an
/// event is committed in the same transaction as the state change it records. Each row stores
///
/// - `chain_hash` = SHA-256(previous `chain_hash` ‖ the event's JSON bytes), starting from 32
///   zero bytes: editing, deleting, inserting or reordering any event changes every later hash;
/// - `seal` = HMAC-SHA256(audit seal key, sequence ‖ `chain_hash`), under a subkey of the root
///   key: someone who can write the database file but has no root key cannot recompute a
///   consistent chain after tampering;
///
/// and a one-row `audit_head` (sequence, hash, seal) moves with every append, so truncating the
/// newest events is detected too. Triggers refuse `UPDATE` and `DELETE` on events; the chain is
/// what catches someone who drops them.
public final class AuditTrail: Sendable {
    private static let genesisHash = [UInt8](repeating: 0, count: 32)
    static let eventSealLabel = Array("keylake audit event v1".utf8)
    static let headSealLabel = Array("keylake audit head v1".utf8)
    static let eventVersion = "1.08"

    let database: DatabasePool
    private let sealer: AuditSealer
    private let identity: KeyServiceIdentity
    private let clock: any WallClock

    /// Creates the trail over the key store's database.
    init(database: DatabasePool, rootKey: RootKey, identity: KeyServiceIdentity, clock: any WallClock) {
        self.database = database
        self.sealer = AuditSealer(key: rootKey.auditSealKey)
        self.identity = identity
        self.clock = clock
    }

    /// Appends one event inside the caller's transaction; it commits or rolls back with it.
    ///
    /// - Throws: Whatever the database throws; the caller must fail the request (fail closed).
    func append(_ db: Database, _ draft: AuditEventDraft) throws {
        try self.append(db, self.prepare(draft))
    }

    /// Renders an event's document (id, time, canonical JSON) without touching the database, so
    /// that this work can run on the caller's task, outside the single writer.
    func prepare(_ draft: AuditEventDraft) -> PreparedAuditEvent {
        let now = self.clock.now()
        let document = self.document(for: draft, eventID: SecureRandom.timeOrderedUUIDString(milliseconds: KeyStore.milliseconds(now)), time: now)
        return PreparedAuditEvent(
            eventID: document.eventID, time: now, document: document.text, eventName: draft.eventName,
            keyID: draft.keyID, principal: draft.principal, ownerService: draft.ownerService
        )
    }

    /// Appends a prepared event inside the caller's transaction: chains its hash to the head,
    /// seals it and moves the head. It commits or rolls back with the transaction.
    ///
    /// - Throws: Whatever the database throws; the caller must fail the request (fail closed).
    func append(_ db: Database, _ event: PreparedAuditEvent) throws {
        try self.append(db, events: [event])
    }

    /// Appends prepared events in order inside the caller's transaction, reading and moving the
    /// chain head once for all of them. They commit or roll back with the transaction; if this
    /// throws, some may have been inserted, so the caller must roll the transaction back.
    ///
    /// - Throws: Whatever the database throws.
    func append(_ db: Database, events: [PreparedAuditEvent]) throws {
        guard !events.isEmpty else { return }
        let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT sequence, chain_hash FROM audit_head WHERE id = 1"))
        var sequence: Int64 = head?["sequence"] ?? 0
        var hash: [UInt8] = (head?["chain_hash"] as Data?).map(Array.init) ?? Self.genesisHash
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO audit_event (sequence, event_id, event_time, event_name, key_id, principal, owner_service,
                    document, chain_hash, seal)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        for event in events {
            sequence += 1
            hash = Self.chainHash(previous: hash, document: event.document)
            try insert.execute(
                arguments: [
                    sequence, event.eventID, KeyStore.milliseconds(event.time), event.eventName, event.keyID?.description,
                    event.principal, event.ownerService, event.document, Data(hash),
                    Data(self.seal(Self.eventSealLabel, sequence: sequence, hash: hash)),
                ]
            )
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO audit_head (id, sequence, chain_hash, seal) VALUES (1, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, chain_hash = excluded.chain_hash,
                    seal = excluded.seal
                """
        ).execute(
            arguments: [sequence, Data(hash), Data(self.seal(Self.headSealLabel, sequence: sequence, hash: hash))]
        )
    }

    /// Checks every event against the chain, the seals and the head.
    ///
    /// - Returns: ``AuditChainVerification/intact(eventCount:)``, or where and why the chain breaks.
    /// - Throws: GRDB's `DatabaseError` if the database cannot be read.
    public func verifyChain() throws -> AuditChainVerification {
        try self.database.read { db in try Self.verifyChain(db, sealer: self.sealer) }
    }

    /// The body of ``verifyChain()``, inside the caller's transaction, with seals under `sealer`.
    static func verifyChain(_ db: Database, sealer: AuditSealer) throws -> AuditChainVerification {
        var expectedSequence: Int64 = 1
        var previousHash = Self.genesisHash
        let rows = try Row.fetchCursor(db, sql: "SELECT sequence, document, chain_hash, seal FROM audit_event ORDER BY sequence")
        while let row = try rows.next() {
            let sequence: Int64 = row["sequence"]
            guard sequence == expectedSequence else {
                return .broken(sequence: expectedSequence, reason: "event \(expectedSequence) is missing (next is \(sequence))")
            }
            let document: String = row["document"]
            let stored = Array(row["chain_hash"] as Data)
            let hash = Self.chainHash(previous: previousHash, document: document)
            guard Self.constantTimeEqual(hash, stored) else {
                return .broken(sequence: sequence, reason: "event \(sequence) does not follow from the one before it: edited, inserted or moved")
            }
            let seal = Array(row["seal"] as Data)
            guard Self.constantTimeEqual(seal, Self.seal(sealer, Self.eventSealLabel, sequence: sequence, hash: hash)) else {
                return .broken(sequence: sequence, reason: "event \(sequence) has an invalid seal: the chain was recomputed without the root key")
            }
            previousHash = hash
            expectedSequence += 1
        }
        let count = expectedSequence - 1
        let head = try Row.fetchOne(db, sql: "SELECT sequence, chain_hash, seal FROM audit_head WHERE id = 1")
        guard let head else {
            return count == 0 ? .intact(eventCount: 0) : .broken(sequence: count, reason: "the chain head record is missing")
        }
        let headSequence: Int64 = head["sequence"]
        let headHash = Array(head["chain_hash"] as Data)
        let headSeal = Array(head["seal"] as Data)
        guard Self.constantTimeEqual(headSeal, Self.seal(sealer, Self.headSealLabel, sequence: headSequence, hash: headHash)) else {
            return .broken(sequence: headSequence, reason: "the chain head has an invalid seal")
        }
        guard headSequence == count, Self.constantTimeEqual(headHash, previousHash) else {
            return .broken(
                sequence: min(headSequence, count + 1),
                reason: "the chain ends at event \(count) but its head records event \(headSequence): events were removed from the end"
            )
        }
        return .intact(eventCount: Int(count))
    }

    static func chainHash(previous: [UInt8], document: AuditDocument) -> [UInt8] {
        Self.chainHash(previous: previous, document: document.text)
    }

    static func chainHash(previous: [UInt8], document: String) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: Array(document.utf8))
        return Array(hasher.finalize())
    }

    private func seal(_ label: [UInt8], sequence: Int64, hash: [UInt8]) -> [UInt8] {
        Self.seal(self.sealer, label, sequence: sequence, hash: hash)
    }

    static func seal(_ sealer: AuditSealer, _ label: [UInt8], sequence: Int64, hash: [UInt8]) -> [UInt8] {
        var message = label
        message.appendBigEndian(UInt64(bitPattern: sequence))
        message.append(contentsOf: hash)
        return sealer.authenticationCode(for: message)
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    struct AuditDocument {
        var eventID: String
        var text: String
    }

    /// Renders the CloudTrail-shaped event in canonical JSON: the exact bytes that are hashed.
    private func document(for draft: AuditEventDraft, eventID: String, time: Date) -> AuditDocument {
        let account = AuditJSON.string(self.identity.accountID)
        var event: [String: AuditJSON] = [
            "eventVersion": .string(Self.eventVersion),
            "userIdentity": draft.userIdentity,
            "eventTime": .string(ISO8601Timestamp.text(time)),
            "eventSource": .string(draft.eventSource),
            "eventName": .string(draft.eventName),
            "awsRegion": .string(self.identity.region),
            "sourceIPAddress": .string(draft.sourceIPAddress),
            "userAgent": .string(draft.userAgent),
            "requestParameters": draft.requestParameters.map(AuditJSON.object) ?? .null,
            "responseElements": draft.responseElements.map(AuditJSON.object) ?? .null,
            "requestID": .string(draft.requestID),
            "eventID": .string(eventID),
            "readOnly": .bool(draft.readOnly),
            "resources": .array(draft.resourceARNs.map { ["ARN": .string($0), "accountId": account, "type": "AWS::KMS::Key"] }),
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": account,
            "eventCategory": "Management",
        ]
        if let additional = draft.additionalEventData { event["additionalEventData"] = .object(additional) }
        if let code = draft.errorCode {
            event["errorCode"] = .string(code)
            event["errorMessage"] = .string(draft.errorMessage ?? "")
        }
        return AuditDocument(eventID: eventID, text: AuditJSON.object(event).canonicalText)
    }
}

import Foundation
import GRDB
import Logging

/// The key service: every AWS KMS operation `kmsd` offers, with authorization, key-state rules
/// and an audit event for every call, allowed or denied.
///
/// Each public operation takes a ``CallerContext``. One that can change state runs inside one
/// SQLite transaction (shared with concurrent calls: group commit) that reads the key, its policy
/// and grants, makes the change and appends the audit event. `Encrypt`, `Decrypt` and
/// `GenerateDataKey*` first try a fast path that authorises against the in-memory
/// ``KeyDirectory`` and hands only a prepared audit event to the writer
/// (``performCryptographic(_:_:requestParameters:_:)``). Either way
///
/// - a change and its audit event commit together or not at all;
/// - a cryptographic result is returned only after its audit event is durable, and if the event
///   cannot be written the call fails with `KMSInternalException` and returns nothing (fail
///   closed);
/// - grants, policies and key states are immediately consistent: once `RevokeGrant`,
///   `RetireGrant`, `DisableKey`, `ScheduleKeyDeletion` or `PutKeyPolicy` returns, every later
///   call sees it, because changes are decided inside the serialized write transaction and the
///   key directory is emptied before such a change can commit and again before it returns.
///
/// A failed call's changes are rolled back (savepoint) and its audit event, with
/// `errorCode`/`errorMessage`, is written in their place, so a refused request leaves nothing
/// half-written. Calls share transactions and fsyncs through ``GroupCommitWriter``.
public final class KeyService: Sendable {
    /// The durable store of keys, material, policies, aliases, tags and grants.
    public let store: KeyStore
    /// The audit trail in the same database.
    public let auditTrail: AuditTrail
    /// The configuration.
    public let configuration: KeyServiceConfiguration

    let evaluator: PolicyEvaluator
    let writer: GroupCommitWriter
    /// Orders fast-path decisions against changes (see ``ChangeGate``).
    let gate = ChangeGate()
    let clock: any WallClock
    let logger: Logger

    /// Opens the key store at `path` and the audit trail in it.
    ///
    /// - Throws: ``RootKeyError`` `mismatch` for a wrong root key; GRDB's `DatabaseError` when
    ///   the file cannot be opened or migrated.
    public init(
        path: String,
        rootKey: RootKey,
        configuration: KeyServiceConfiguration,
        clock: any WallClock = SystemWallClock(),
        logger: Logger = Logger(label: "keylake.kms")
    ) throws {
        self.store = try KeyStore(
            path: path,
            rootKey: rootKey,
            identity: configuration.identity,
            clock: clock,
            limits: configuration.keyStoreLimits,
            logger: logger
        )
        self.auditTrail = AuditTrail(database: self.store.database, rootKey: rootKey, identity: configuration.identity, clock: clock)
        self.configuration = configuration
        self.evaluator = PolicyEvaluator(settings: configuration.policyEvaluation)
        let auditTrail = self.auditTrail
        self.writer = GroupCommitWriter(database: self.store.database, maximumBatchSize: configuration.limits.maximumCallsPerCommit) { db, events in
            try auditTrail.append(db, events: events)
        }
        self.clock = clock
        self.logger = logger
    }

    /// Closes the key store (see ``KeyStore/close()``): its database and its lock. Call it only
    /// when no call is running; the service must not be used afterwards.
    ///
    /// - Throws: GRDB's `DatabaseError` when the database cannot be closed.
    public func close() throws {
        try self.store.close()
    }

    var limits: KeyServiceLimits { self.configuration.limits }
    var identity: KeyServiceIdentity { self.configuration.identity }

    /// Runs one operation as a job of the group-commit writer: resolves the caller, runs `body`
    /// and appends the success event in one savepoint; if anything fails, that savepoint is
    /// rolled back and the failure event is appended instead. The result is returned only after
    /// the shared transaction commits.
    ///
    /// - Parameters:
    ///   - requestParameters: What the event records of the request. Only values that passed
    ///     validation, clipped; never plaintext, ciphertext or key material.
    func perform<Result: Sendable>(
        _ operation: KMSOperation,
        _ context: CallerContext,
        requestParameters: [String: AuditJSON] = [:],
        _ body: @escaping @Sendable (Database, ResolvedCaller, AuditNotes) throws -> Result
    ) async throws -> Result {
        // A call that may change keys, policies, aliases or grants holds the change gate while
        // it is queued and committed, so fast-path decisions are ordered around it in the audit
        // trail as they were decided (see ChangeGate), and empties the key directory before its
        // transaction can commit and again after, before it returns: the fast path then reads
        // the new state (see KeyDirectory).
        guard !operation.isReadOnly else {
            return try await self.write(operation, context, requestParameters, body)
        }
        return try await self.gate.change {
            try await self.store.directory.change {
                try await self.write(operation, context, requestParameters, body)
            }
        }
    }

    /// Runs one ``perform(_:_:requestParameters:_:)`` job in the writer and returns its result.
    private func write<Result: Sendable>(
        _ operation: KMSOperation,
        _ context: CallerContext,
        _ requestParameters: [String: AuditJSON],
        _ body: @escaping @Sendable (Database, ResolvedCaller, AuditNotes) throws -> Result
    ) async throws -> Result {
        let outcome: Swift.Result<Result, KMSError>
        do {
            outcome = try await self.writer.write { db in
                self.execute(operation, context, requestParameters, body, db)
            }
        } catch {
            // The batch did not commit: nothing of this call is durable, so nothing is returned.
            // Logged for operators (GRDB leaves statement arguments out of its errors).
            self.logger.error(
                "a write batch did not commit",
                metadata: ["operation": "\(operation.rawValue)", "requestID": "\(context.requestID)", "error": "\(error)"]
            )
            throw Self.kmsError(AuditWriteFailure(cause: error))
        }
        return try outcome.get()
    }

    /// The body of one ``perform(_:_:requestParameters:_:)`` job, inside the batch transaction.
    private func execute<Result>(
        _ operation: KMSOperation,
        _ context: CallerContext,
        _ requestParameters: [String: AuditJSON],
        _ body: (Database, ResolvedCaller, AuditNotes) throws -> Result,
        _ db: Database
    ) -> Swift.Result<Result, KMSError> {
        let notes = AuditNotes(requestParameters: requestParameters)
        var caller = ResolvedCaller(principal: context.principal, peer: context.principal, viaService: nil, isServiceActingForItself: false)
        do {
            caller = try self.resolve(context, operation: operation, notes: notes)
            var value: Result?
            try db.inSavepoint {
                let result = try body(db, caller, notes)
                do {
                    try self.auditTrail.append(db, self.draft(operation, context, caller, notes, error: nil))
                } catch {
                    throw AuditWriteFailure(cause: error)
                }
                value = result
                return .commit
            }
            guard let value else { throw KMSError.internalFailure("the operation produced no result") }
            return .success(value)
        } catch {
            let kmsError = Self.kmsError(error)
            let draft = self.draft(operation, context, caller, notes, error: kmsError)
            do {
                try db.inSavepoint {
                    try self.auditTrail.append(db, draft)
                    return .commit
                }
            } catch {
                // The call has failed either way; the missing event is logged for operators.
                self.logger.error(
                    "could not audit a failed call",
                    metadata: ["operation": "\(operation.rawValue)", "requestID": "\(context.requestID)", "error": "\(error)"]
                )
            }
            return .failure(kmsError)
        }
    }

    /// Maps any error to the ``KMSError`` the caller sees; unknown errors become
    /// `KMSInternalException`, without their details.
    static func kmsError(_ error: any Error) -> KMSError {
        switch error {
        case let error as KMSError:
            return error
        case let error as AuditWriteFailure:
            return KMSError.internalFailure(
                "the audit event could not be written, so the request was not carried out",
                cause: error.cause
            )
        case let error as DatabaseError where error.resultCode == .SQLITE_BUSY:
            return KMSError.dependencyTimeout("the key store is busy; retry the request", cause: error)
        default:
            return KMSError.internalFailure("the key service failed internally", cause: error)
        }
    }

    func draft(
        _ operation: KMSOperation,
        _ context: CallerContext,
        _ caller: ResolvedCaller,
        _ notes: AuditNotes,
        error: KMSError?
    ) -> AuditEventDraft {
        let state = notes.snapshot
        let serviceOwner = state.keys.lazy.compactMap(\.ownerService).first
        return AuditEventDraft(
            eventName: operation.rawValue,
            eventSource: operation.eventSource,
            readOnly: operation.isReadOnly,
            userIdentity: caller.userIdentity,
            principal: caller.principal,
            requestParameters: state.requestParameters.isEmpty ? nil : state.requestParameters,
            responseElements: error == nil ? state.responseElements : nil,
            additionalEventData: state.additionalEventData,
            resourceARNs: state.keys.map(\.arn),
            keyID: state.keys.first?.keyID,
            ownerService: serviceOwner,
            requestID: self.clipped(context.requestID),
            sourceIPAddress: self.clipped(context.sourceIPAddress),
            userAgent: self.clipped(context.userAgent),
            errorCode: error?.code.exceptionName,
            errorMessage: error.map { self.clipped($0.message) }
        )
    }

    /// A caller-controlled string cut to the audit limit.
    func clipped(_ string: String) -> String {
        let limit = self.limits.maximumAuditedStringCharacters
        return string.count <= limit ? string : String(string.prefix(limit)) + "…"
    }
}

/// The audit append failed inside the operation's transaction; the operation fails closed.
struct AuditWriteFailure: Error {
    var cause: any Error
}

import GRDB

extension KeyService {
    /// Runs a cryptographic operation (`Encrypt`, `Decrypt`, `GenerateDataKey*`): on the fast
    /// path when it succeeds there, otherwise as ``perform(_:_:requestParameters:_:)`` does.
    ///
    /// The fast path authorises against the ``KeyDirectory`` (or, for what it does not hold, one
    /// read transaction), does the cryptography and renders the audit event on the caller's task,
    /// and hands only the event to the group-commit writer, which chains, seals and appends it.
    /// The result is returned only after that event's batch commits. Anything but a clean
    /// success there — a refusal, a validation error, a key the call may not see, an audit event
    /// that could not be written — drops the fast attempt without a trace and runs the call again
    /// inside the writer, which decides afresh and writes the success or failure event exactly as
    /// before. So every call leaves exactly one event, and a result is never returned without its
    /// durable event.
    ///
    /// - Parameter body: The operation: validation, lookups, authorization, key-state checks and
    ///   cryptography, reading only through the given ``KeyLookup``. It may run more than once and
    ///   must have no other effects.
    func performCryptographic<Result: Sendable>(
        _ operation: KMSOperation,
        _ context: CallerContext,
        requestParameters: [String: AuditJSON],
        _ body: @escaping @Sendable (any KeyLookup, ResolvedCaller, AuditNotes) throws -> Result
    ) async throws -> Result {
        if let result = await self.fastPath(operation, context, requestParameters, body) {
            return result
        }
        return try await self.perform(operation, context, requestParameters: requestParameters) { db, caller, notes in
            try body(DatabaseKeyLookup(db, store: self.store), caller, notes)
        }
    }

    /// The fast attempt of ``performCryptographic(_:_:requestParameters:_:)``; `nil` when the call
    /// must run in the writer instead.
    private func fastPath<Result: Sendable>(
        _ operation: KMSOperation,
        _ context: CallerContext,
        _ requestParameters: [String: AuditJSON],
        _ body: @escaping @Sendable (any KeyLookup, ResolvedCaller, AuditNotes) throws -> Result
    ) async -> Result? {
        // The decision and the queueing of its event happen under the change gate: no change
        // can queue its own event in between, so the chain orders them as they were decided.
        let queued: (event: GroupCommitWriter.QueuedEvent, outcome: FastOutcome<Result>)? = await self.gate.decision {
            guard let outcome = await self.decide(operation, context, requestParameters, body) else { return nil }
            let event = self.auditTrail.prepare(self.draft(operation, context, outcome.caller, outcome.notes, error: nil))
            return (self.writer.enqueue(event), outcome)
        }
        guard let queued else { return nil }
        do {
            try await self.writer.wait(queued.event)
        } catch {
            // Not durable, so not returned: the writer path tries again and fails closed.
            return nil
        }
        return queued.outcome.result
    }

    /// Authorises and runs `body` against the directory, or one read transaction for what it
    /// does not hold; `nil` when the call must run in the writer instead.
    private func decide<Result: Sendable>(
        _ operation: KMSOperation,
        _ context: CallerContext,
        _ requestParameters: [String: AuditJSON],
        _ body: @escaping @Sendable (any KeyLookup, ResolvedCaller, AuditNotes) throws -> Result
    ) async -> FastOutcome<Result>? {
        let directory = self.store.directory
        var outcome: FastOutcome<Result>?
        if let contents = directory.snapshot() {
            do {
                outcome = try self.attempt(operation, DirectoryKeyLookup(contents: contents), context, requestParameters, body)
            } catch is KeyDirectoryMiss {
                outcome = nil
            } catch {
                return nil
            }
        }
        if outcome == nil {
            let loader = directory.loader()
            do {
                outcome = try await self.store.database.read { db in
                    try self.attempt(operation, DatabaseKeyLookup(db, store: self.store, loader: loader), context, requestParameters, body)
                }
            } catch {
                return nil
            }
            directory.install(loader)
        }
        return outcome
    }

    private func attempt<Result: Sendable>(
        _ operation: KMSOperation,
        _ lookup: some KeyLookup,
        _ context: CallerContext,
        _ requestParameters: [String: AuditJSON],
        _ body: (any KeyLookup, ResolvedCaller, AuditNotes) throws -> Result
    ) throws -> FastOutcome<Result> {
        let notes = AuditNotes(requestParameters: requestParameters)
        let caller = try self.resolve(context, operation: operation, notes: notes)
        return FastOutcome(result: try body(lookup, caller, notes), caller: caller, notes: notes)
    }

    /// What a successful fast attempt produced, before its audit event is written.
    fileprivate struct FastOutcome<Result: Sendable>: Sendable {
        var result: Result
        var caller: ResolvedCaller
        var notes: AuditNotes
    }
}

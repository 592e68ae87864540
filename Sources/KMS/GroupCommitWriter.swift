import GRDB
import Synchronization

/// Runs many small write jobs in one SQLite transaction that shares one commit and one fsync
/// (group commit).
///
/// A caller submits a job and waits. If no batch is being written, the caller becomes the
/// *drainer*: it takes up to ``maximumBatchSize`` pending jobs (its own first), runs each in its
/// own savepoint inside one transaction, commits, and hands the role to the caller of the next
/// pending job, so no caller writes more than one batch and latency stays bounded. Jobs that
/// arrive while a batch is being written wait for the next one: under load, batches grow and
/// the cost of `synchronous=FULL` is shared.
///
/// Results are delivered only after the batch's commit returns; if the commit fails, every job
/// of the batch fails, so nothing is acknowledged that is not durable. Jobs run in submission
/// order, each seeing the effects of the ones before it.
///
/// Prepared audit events (``append(_:)``, ``enqueue(_:)``) are the cheap kind of job: the batch
/// appends each run of consecutive events together, with one read and one write of the chain
/// head (``AuditTrail/append(_:events:)``), before the next other job, so the audit chain holds
/// every event in submission order. They have no savepoint of their own: if appending them
/// fails, the whole batch rolls back and every job of it fails (fail closed).
final class GroupCommitWriter: Sendable {
    /// The most jobs one transaction carries.
    let maximumBatchSize: Int

    private let database: DatabasePool
    private let appendEvents: @Sendable (Database, [PreparedAuditEvent]) throws -> Void
    private let queue = Mutex<Queue>(Queue())

    private struct Queue: ~Copyable {
        var pending: [Job] = []
        var draining = false
    }

    private enum Work: Sendable {
        case run(@Sendable (Database) -> Void)
        case event(PreparedAuditEvent)
    }

    private struct Job: Sendable {
        let work: Work
        let waiter: Waiter
    }

    fileprivate enum Signal: Sendable {
        case committed
        case failed(any Error)
        case drain
    }

    /// A one-reader mailbox: the job's owner waits on it for its outcome or for the drainer role.
    fileprivate final class Waiter: Sendable {
        private struct State: ~Copyable {
            var signals: [Signal] = []
            var continuation: CheckedContinuation<Signal, Never>?
        }

        private let state = Mutex<State>(State())

        func post(_ signal: Signal) {
            let continuation = self.state.withLock { state -> CheckedContinuation<Signal, Never>? in
                if let continuation = state.continuation {
                    state.continuation = nil
                    return continuation
                }
                state.signals.append(signal)
                return nil
            }
            continuation?.resume(returning: signal)
        }

        func next() async -> Signal {
            await withCheckedContinuation { continuation in
                let ready = self.state.withLock { state -> Signal? in
                    if !state.signals.isEmpty { return state.signals.removeFirst() }
                    state.continuation = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    private final class Outcome<Value: Sendable>: Sendable {
        let value = Mutex<Result<Value, any Error>?>(nil)
    }

    /// Creates a writer over `database`; `appendEvents` appends a batch's prepared audit events.
    init(database: DatabasePool, maximumBatchSize: Int, appendEvents: @escaping @Sendable (Database, [PreparedAuditEvent]) throws -> Void) {
        self.database = database
        self.maximumBatchSize = max(1, maximumBatchSize)
        self.appendEvents = appendEvents
    }

    /// Appends a prepared audit event in the next batch and returns once the batch commits.
    ///
    /// - Throws: The error that made the batch fail; the event is then not in the trail.
    func append(_ event: PreparedAuditEvent) async throws {
        try await self.submit(Job(work: .event(event), waiter: Waiter()))
    }

    /// A prepared audit event queued by ``enqueue(_:)``; its owner must pass it to
    /// ``wait(_:)`` exactly once.
    struct QueuedEvent: Sendable {
        fileprivate let waiter: Waiter
        fileprivate let drains: Bool
    }

    /// Queues a prepared audit event without waiting: its place in the chain is fixed when this
    /// returns (after every job queued before, before every job queued after). The caller must
    /// then call ``wait(_:)``, which may write batches for other callers too.
    func enqueue(_ event: PreparedAuditEvent) -> QueuedEvent {
        let job = Job(work: .event(event), waiter: Waiter())
        return QueuedEvent(waiter: job.waiter, drains: self.queue(job))
    }

    /// Returns once the batch of an event queued with ``enqueue(_:)`` commits.
    ///
    /// - Throws: The error that made the batch fail; the event is then not in the trail.
    func wait(_ queued: QueuedEvent) async throws {
        try await self.complete(queued.waiter, drains: queued.drains)
    }

    /// Runs `body` in a savepoint of the next batch and returns its result once the batch commits.
    ///
    /// - Throws: The error `body` threw (its savepoint is rolled back and the batch goes on), or
    ///   the error that made the batch's commit fail.
    func write<Value: Sendable>(_ body: @escaping @Sendable (Database) throws -> Value) async throws -> Value {
        let outcome = Outcome<Value>()
        let waiter = Waiter()
        let job = Job(
            work: .run { db in
                let result: Result<Value, any Error>
                if db.isInsideTransaction {
                    var value: Value?
                    do {
                        try db.inSavepoint {
                            value = try body(db)
                            return .commit
                        }
                        result = value.map { .success($0) } ?? .failure(DatabaseError(resultCode: .SQLITE_ERROR, message: "job produced no value"))
                    } catch {
                        result = .failure(error)
                    }
                } else {
                    // SQLite rolled the batch back after an earlier error: do not run outside it.
                    result = .failure(DatabaseError(resultCode: .SQLITE_ABORT, message: "the batch transaction was rolled back"))
                }
                outcome.value.withLock { $0 = result }
            },
            waiter: waiter
        )
        try await self.submit(job)
        guard let result = outcome.value.withLock({ $0 }) else {
            throw DatabaseError(resultCode: .SQLITE_ERROR, message: "job did not run")
        }
        return try result.get()
    }

    /// Queues `job`, writes batches while this caller holds the drainer role, and returns once
    /// the job's batch has committed.
    private func submit(_ job: Job) async throws {
        try await self.complete(job.waiter, drains: self.queue(job))
    }

    /// Appends `job` to the pending jobs.
    ///
    /// - Returns: Whether the caller became the drainer and must write the next batch.
    private func queue(_ job: Job) -> Bool {
        self.queue.withLock { queue -> Bool in
            queue.pending.append(job)
            if queue.draining { return false }
            queue.draining = true
            return true
        }
    }

    /// Waits for the outcome of the job `waiter` belongs to, writing batches while this caller
    /// holds the drainer role.
    private func complete(_ waiter: Waiter, drains: Bool) async throws {
        if drains { await self.writeOneBatch() }
        while true {
            switch await waiter.next() {
            case .drain:
                await self.writeOneBatch()
            case .failed(let error):
                throw error
            case .committed:
                return
            }
        }
    }

    /// Writes the oldest pending jobs as one transaction, reports to their owners, and passes
    /// the drainer role on (or gives it up when nothing is pending).
    private func writeOneBatch() async {
        let batch = self.queue.withLock { queue -> [Job] in
            let batch = Array(queue.pending.prefix(self.maximumBatchSize))
            queue.pending.removeFirst(batch.count)
            return batch
        }
        let database = self.database
        let appendEvents = self.appendEvents
        // The batch carries other callers' work: shield it from this caller's cancellation
        // (GRDB interrupts a cancelled task's statement). The task is awaited right here.
        let failure = await Task.detached { () -> (any Error)? in
            do {
                try await database.write { db in
                    // Events go into the chain in submission order, interleaved with the
                    // other jobs (whose own events they write themselves).
                    var events = [PreparedAuditEvent]()
                    func flush() throws {
                        guard !events.isEmpty else { return }
                        // SQLite may have rolled the batch back after an earlier error: never
                        // append outside the transaction.
                        guard db.isInsideTransaction else {
                            throw DatabaseError(resultCode: .SQLITE_ABORT, message: "the batch transaction was rolled back")
                        }
                        try appendEvents(db, events)
                        events.removeAll(keepingCapacity: true)
                    }
                    for job in batch {
                        switch job.work {
                        case .run(let run):
                            try flush()
                            run(db)
                        case .event(let event):
                            events.append(event)
                        }
                    }
                    try flush()
                }
                return nil
            } catch {
                return error
            }
        }.value
        for job in batch {
            job.waiter.post(failure.map(Signal.failed) ?? .committed)
        }
        let next = self.queue.withLock { queue -> Job? in
            if let first = queue.pending.first { return first }
            queue.draining = false
            return nil
        }
        next?.waiter.post(.drain)
    }
}

import DataStore
import Synchronization

/// Shares one unwrap of a datastore's blind-index key among the requests waiting for it, without
/// ever handing a request the result of an unwrap that started before the request did.
///
/// Every create, update, delete, search and transaction needs the index key, and unwrapping it
/// costs one kmsd `Decrypt` per key layer. Under concurrent load most of these calls ask kmsd
/// the same question at nearly the same time; this type lets them share the answer while keeping
/// the promise that revocation is immediate: **a request only uses an unwrap that started after
/// the request began**, so the kmsd authorisation behind the key it gets happened after it arrived
/// (and so after any `RevokeGrant` or `DisableKey` that had returned by then).
///
/// Per datastore (keyed by the datastore id and the wrapped key bytes):
/// - no unwrap running: one starts now, and the arriving request is its only member;
/// - an unwrap running: the request queues for the next generation;
/// - when an unwrap finishes, each of its members gets its result (the key or the error); the
///   requests queued meanwhile become the next generation and one new unwrap starts for them,
///   or, when none queued, the datastore's state is removed.
///
/// So at most one unwrap is in flight and one generation waits per datastore, and nothing stays
/// in memory once the requests are answered: the plaintext key is held only while it is handed
/// to the members of its generation.
///
/// The unwrap runs in its own task, so a member's cancellation does not fail the others. A member
/// whose task is cancelled while it waits returns at once with `CancellationError`; when the
/// last member of the running generation leaves, the unwrap is cancelled too (its result, if
/// any, goes to no one) and the queued generation starts when it has ended.
package final class IndexKeyUnwrapCoalescer: Sendable {
    /// The unwrap itself: in fhird, `EnvelopeCipher.indexKey(unwrapping:datastoreID:)`, one kmsd
    /// `Decrypt` per key layer.
    package typealias Unwrap = @Sendable (_ wrapped: WrappedIndexKey, _ datastoreID: String) async throws -> BlindIndexKey

    /// Which unwraps may be shared: the same datastore and the same stored key.
    private struct Slot: Hashable, Sendable {
        let datastoreID: String
        let wrapped: WrappedIndexKey
    }

    private typealias Member = CheckedContinuation<BlindIndexKey, any Error>

    /// One datastore's unwrap in flight and the requests queued behind it.
    private struct Generations {
        /// Members of the running unwrap: they all arrived before it started.
        var running: [UInt64: Member]
        /// Requests that arrived while it runs: the next generation.
        var queued: [UInt64: Member] = [:]
        /// The running unwrap.
        var unwrap: Task<Void, Never>?
    }

    private struct State {
        var slots: [Slot: Generations] = [:]
        var lastMemberID: UInt64 = 0
    }

    private let unwrap: Unwrap
    private let state = Mutex(State())

    /// Creates a coalescer over the unwrap it shares.
    package init(unwrap: @escaping Unwrap) {
        self.unwrap = unwrap
    }

    /// The index key of `datastoreID`, from an unwrap that starts after this call began.
    ///
    /// - Throws: The unwrap's error (in fhird ``DataStore/DataStoreError`` `keyUnavailable` with
    ///   kmsd's refusal as its cause), or `CancellationError` when the calling task is cancelled
    ///   before the key arrives.
    package func indexKey(unwrapping wrapped: WrappedIndexKey, datastoreID: String) async throws -> BlindIndexKey {
        let slot = Slot(datastoreID: datastoreID, wrapped: wrapped)
        let memberID = self.state.withLock { state in
            state.lastMemberID &+= 1
            return state.lastMemberID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: Member) in
                self.join(slot, memberID: memberID, continuation)
            }
        } onCancel: {
            self.leave(slot, memberID: memberID)
        }
    }

    /// Datastores with an unwrap in flight (test and diagnostics: 0 when idle).
    package var datastoresInFlight: Int {
        self.state.withLock { $0.slots.count }
    }

    /// Requests waiting for an index key, running and queued (test and diagnostics).
    package var requestsWaiting: Int {
        self.state.withLock { state in state.slots.values.reduce(0) { $0 + $1.running.count + $1.queued.count } }
    }

    // MARK: - Generations

    private enum Arrival {
        case joined
        case cancelled
    }

    private func join(_ slot: Slot, memberID: UInt64, _ continuation: Member) {
        let arrival = self.state.withLock { state -> Arrival in
            // Checked under the lock: a cancellation handler that ran before this found nothing
            // to remove, and the flag is already set when it runs.
            if Task.isCancelled { return .cancelled }
            if state.slots[slot] != nil {
                state.slots[slot]?.queued[memberID] = continuation
            } else {
                state.slots[slot] = Generations(running: [memberID: continuation], unwrap: self.startUnwrap(slot))
            }
            return .joined
        }
        if arrival == .cancelled { continuation.resume(throwing: CancellationError()) }
    }

    /// Starts the unwrap of a generation; called with the lock held (the task body runs later).
    private func startUnwrap(_ slot: Slot) -> Task<Void, Never> {
        Task {
            let result: Result<BlindIndexKey, any Error>
            do {
                result = .success(try await self.unwrap(slot.wrapped, slot.datastoreID))
            } catch {
                result = .failure(error)
            }
            self.finish(slot, result)
        }
    }

    /// Answers the running generation and starts the queued one, or forgets the datastore.
    private func finish(_ slot: Slot, _ result: Result<BlindIndexKey, any Error>) {
        let members = self.state.withLock { state -> [Member] in
            guard var generations = state.slots[slot] else { return [] }
            let members = Array(generations.running.values)
            if generations.queued.isEmpty {
                state.slots[slot] = nil
            } else {
                generations.running = generations.queued
                generations.queued = [:]
                generations.unwrap = self.startUnwrap(slot)
                state.slots[slot] = generations
            }
            return members
        }
        for member in members { member.resume(with: result) }
    }

    /// A cancelled member leaves its generation and is answered with `CancellationError`.
    private func leave(_ slot: Slot, memberID: UInt64) {
        let (member, orphaned) = self.state.withLock { state -> (Member?, Task<Void, Never>?) in
            guard var generations = state.slots[slot] else { return (nil, nil) }
            if let member = generations.queued.removeValue(forKey: memberID) {
                state.slots[slot] = generations
                return (member, nil)
            }
            if let member = generations.running.removeValue(forKey: memberID) {
                let orphaned = generations.running.isEmpty ? generations.unwrap : nil
                state.slots[slot] = generations
                return (member, orphaned)
            }
            return (nil, nil)
        }
        orphaned?.cancel()
        member?.resume(throwing: CancellationError())
    }
}

import Synchronization

/// Orders fast-path decisions against changes, so that the audit trail's order agrees with the
/// order of decisions.
///
/// Two kinds of holder, never at the same time:
///
/// - a **decision** (a fast-path `Encrypt`, `Decrypt` or `GenerateDataKey*`) holds the gate from
///   taking its authorization snapshot (or starting its database read) until its prepared audit
///   event is queued in the ``GroupCommitWriter`` — CPU work of tens of microseconds, plus a
///   read transaction when the ``KeyDirectory`` misses;
/// - a **change** (anything that changes keys, policies, aliases or grants) holds it from before
///   its job is queued in the writer until its transaction committed (with its audit event) and
///   the directory was emptied again.
///
/// Any number of decisions, or any number of changes, hold it together (changes are ordered by
/// the writer anyway). A change waits until the decisions holding the gate have queued their
/// events, so they precede its event in the chain; decisions that arrive while a change holds
/// it or waits for it wait until the change has committed, so they decide on the new state and
/// their events follow its event. Waiting is fair between the two kinds: when changes finish,
/// every waiting decision is let in before any change that arrived meanwhile, and the other way
/// round, so neither starves the other.
///
/// Waiting ignores task cancellation: a holder never waits for anything but holders of the other
/// kind, each of which finishes on its own.
final class ChangeGate: Sendable {
    private enum Kind {
        case decision
        case change
    }

    private struct State: ~Copyable {
        var decisions = 0
        var changes = 0
        var waitingDecisions: [CheckedContinuation<Void, Never>] = []
        var waitingChanges: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex<State>(State())

    /// Creates an open gate.
    init() {}

    /// Runs `body` as a decision: no change is between its queueing and its commit meanwhile.
    func decision<Value>(_ body: () async throws -> Value) async rethrows -> Value {
        await self.enter(.decision)
        defer { self.leave(.decision) }
        return try await body()
    }

    /// Runs `body` as a change: no decision holds the gate meanwhile.
    func change<Value>(_ body: () async throws -> Value) async rethrows -> Value {
        await self.enter(.change)
        defer { self.leave(.change) }
        return try await body()
    }

    private func enter(_ kind: Kind) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = self.state.withLock { state -> Bool in
                switch kind {
                case .decision:
                    // Changes waiting go first: decisions do not starve them.
                    if state.changes == 0 && state.waitingChanges.isEmpty {
                        state.decisions += 1
                        return true
                    }
                    state.waitingDecisions.append(continuation)
                case .change:
                    // Decisions waiting go first: a stream of changes does not starve them.
                    if state.decisions == 0 && state.waitingDecisions.isEmpty {
                        state.changes += 1
                        return true
                    }
                    state.waitingChanges.append(continuation)
                }
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    private func leave(_ kind: Kind) {
        let admitted = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            switch kind {
            case .decision:
                state.decisions -= 1
                guard state.decisions == 0, !state.waitingChanges.isEmpty else { return [] }
                let admitted = state.waitingChanges
                state.waitingChanges = []
                state.changes += admitted.count
                return admitted
            case .change:
                state.changes -= 1
                guard state.changes == 0 else { return [] }
                if !state.waitingDecisions.isEmpty {
                    let admitted = state.waitingDecisions
                    state.waitingDecisions = []
                    state.decisions += admitted.count
                    return admitted
                }
                let admitted = state.waitingChanges
                state.waitingChanges = []
                state.changes += admitted.count
                return admitted
            }
        }
        for continuation in admitted { continuation.resume() }
    }
}

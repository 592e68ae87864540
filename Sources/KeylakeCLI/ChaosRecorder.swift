import Foundation
import KeylakeChaos
import Synchronization

/// Records every data-plane call of a chaos run as it is invoked and completed, on one monotonic
/// clock shared with the fault's times.
final class ChaosRecorder: Sendable {
    private let clock = ContinuousClock()
    /// The start of the run on the monotonic clock.
    let start: ContinuousClock.Instant
    /// The start of the run on the wall clock (audit events carry wall-clock times).
    let startDate: Date
    private let state = Mutex<(records: [OperationRecord], frozen: Bool)>(([], false))

    init() {
        self.start = ContinuousClock.now
        self.startDate = Date()
    }

    /// Seconds since the start of the run.
    func now() -> Double {
        let elapsed = self.clock.now - self.start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// The instant `seconds` after the start of the run.
    func instant(at seconds: Double) -> ContinuousClock.Instant {
        self.start + .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// Records the invocation of a call; returns its sequence number for ``finish(_:errorName:resourceID:)``.
    func begin(
        client: Int, kind: OperationKind, resourceType: String = "Patient", resourceID: String = "", marker: String? = nil,
        deadline: Double, contentDigest: String? = nil
    ) -> Int {
        let invoked = self.now()
        return self.state.withLock { state in
            let sequence = state.records.count + 1
            state.records.append(
                OperationRecord(
                    sequence: sequence, client: client, kind: kind, resourceType: resourceType, resourceID: resourceID, marker: marker,
                    invoked: invoked, completed: nil, deadline: deadline, errorName: nil, contentDigest: contentDigest))
            return sequence
        }
    }

    /// Records the completion of call `sequence`: `errorName` nil for success; a create's
    /// server-assigned id. Ignored once the recorder is frozen (the call is then hung).
    func finish(_ sequence: Int, errorName: String?, resourceID: String? = nil) {
        let completed = self.now()
        self.state.withLock { state in
            guard !state.frozen else { return }
            state.records[sequence - 1].completed = completed
            state.records[sequence - 1].errorName = errorName
            if let resourceID { state.records[sequence - 1].resourceID = resourceID }
        }
    }

    /// Stops recording completions: calls still running now count as hung.
    func freeze() {
        self.state.withLock { $0.frozen = true }
    }

    /// Accepts completions again (for the probes made after the load).
    func thaw() {
        self.state.withLock { $0.frozen = false }
    }

    /// Every call so far, in invoke order.
    func snapshot() -> [OperationRecord] {
        self.state.withLock { $0.records }
    }
}

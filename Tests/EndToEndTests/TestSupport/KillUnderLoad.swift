import Foundation
import Synchronization

/// Shared between the load loops of a kill-under-load test and the task that kills the daemon.
final class KillProgress: Sendable {
    private let acknowledgedCount = Atomic<Int>(0)
    private let killFlag = Atomic<Bool>(false)

    /// A call the daemon answered with success.
    func acknowledge() { self.acknowledgedCount.add(1, ordering: .relaxed) }
    var acknowledged: Int { self.acknowledgedCount.load(ordering: .relaxed) }
    /// Whether the daemon has been killed (loops stop starting calls once it has).
    var killed: Bool { self.killFlag.load(ordering: .sequentiallyConsistent) }
    func markKilled() { self.killFlag.store(true, ordering: .sequentiallyConsistent) }
}

/// Runs `loads` concurrently and sends SIGKILL to `pid` once `acknowledgedBeforeKill` calls were
/// acknowledged through `progress` (or `maximumLoad` has passed): mid-load, with calls in flight
/// on every connection. Returns what each load saw.
func runLoadThenKill<LoopResult: Sendable>(
    pid: pid_t, progress: KillProgress, acknowledgedBeforeKill: Int, maximumLoad: Duration,
    loads: [@Sendable () async -> LoopResult]
) async throws -> [LoopResult] {
    try await withThrowingTaskGroup(of: LoopResult?.self) { group in
        for load in loads {
            group.addTask { await load() }
        }
        group.addTask {
            let clock = ContinuousClock()
            let deadline = clock.now + maximumLoad
            while progress.acknowledged < acknowledgedBeforeKill, clock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            progress.markKilled()
            _ = kill(pid, SIGKILL)
            return nil
        }
        var results: [LoopResult] = []
        for try await result in group {
            if let result { results.append(result) }
        }
        return results
    }
}

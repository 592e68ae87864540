import Synchronization

/// The current ``ProxySnapshot`` of a proxy, readable by every connection at any time: a change
/// made by ``FaultProxy/addToxic(_:)`` and friends applies to every byte read after the call
/// returns, not only once the change's notification reaches the connection's event loop.
final class ToxicBoard: Sendable {
    private let snapshot: Mutex<ProxySnapshot>

    init(_ snapshot: ProxySnapshot) {
        self.snapshot = Mutex(snapshot)
    }

    /// The latest snapshot.
    var current: ProxySnapshot {
        self.snapshot.withLock { $0 }
    }

    /// Publishes a newer snapshot (older ones are ignored).
    func publish(_ snapshot: ProxySnapshot) {
        self.snapshot.withLock { current in
            if snapshot.version > current.version { current = snapshot }
        }
    }
}

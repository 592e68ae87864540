import Synchronization

/// Counters shared by a proxy's connections, readable from any thread.
final class ProxyCounters: Sendable {
    /// Bytes read from one side and not yet written to the other, over all connections.
    let heldBytes = Atomic<Int>(0)

    init() {}

    func hold(_ count: Int) {
        self.heldBytes.add(count, ordering: .relaxed)
    }

    func release(_ count: Int) {
        self.heldBytes.subtract(count, ordering: .relaxed)
    }
}

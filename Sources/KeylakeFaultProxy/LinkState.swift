/// The state of the link a ``FaultProxy`` stands for.
public enum LinkState: String, Sendable, Hashable, Codable {
    /// Connections are accepted and bytes flow (subject to toxics).
    case up
    /// The listener is closed, so new connections are refused, and every open connection was cut
    /// (as when the upstream process is gone).
    case down
    /// A network partition: new connections are accepted but not connected upstream, and no byte
    /// moves either way on any connection (held, with backpressure, not dropped); nothing is closed.
    /// Clients see silence until their own timeouts fire. ``FaultProxy/up()`` heals it: held bytes
    /// are delivered and waiting connections are connected upstream, as TCP does after a partition.
    case partitioned
}

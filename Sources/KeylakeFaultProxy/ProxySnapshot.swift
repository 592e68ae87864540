import NIOCore

/// The toxics in force and the link state at one moment, as handed to every connection. Pure: the
/// decisions that depend only on it (is a flow held, which timers a connection needs) live here.
struct ProxySnapshot: Sendable {
    /// A toxic and when it took effect. `id` changes whenever the toxic is added or updated.
    struct Entry: Sendable, Hashable {
        var toxic: Toxic
        var id: UInt64
        var since: NIODeadline
    }

    /// A timer a connection must arm: close or reset it at `at`.
    struct Timer: Sendable, Hashable {
        enum Action: Sendable, Hashable {
            /// Close both sides (timeout toxic).
            case close
            /// Close with RST the sides given by the direction, the others normally.
            case reset(Toxic.Direction)
        }
        var id: UInt64
        var at: NIODeadline
        var action: Action
    }

    /// Increases with every change, so a connection ignores an older snapshot arriving late.
    var version: UInt64
    var entries: [Entry]
    var link: LinkState

    /// The kinds of the toxics covering `flow`, in the order they were added.
    func kinds(for flow: Toxic.Flow) -> [Toxic.Kind] {
        self.entries.filter { $0.toxic.direction.covers(flow) }.map(\.toxic.kind)
    }

    /// Whether bytes of `flow` must be held: partitioned, or a timeout/blackhole toxic covers it.
    func isHeld(_ flow: Toxic.Flow) -> Bool {
        if self.link == .partitioned { return true }
        return self.entries.contains { entry in
            if case .timeout = entry.toxic.kind { return entry.toxic.direction.covers(flow) }
            return false
        }
    }

    /// The delay before closing the destination of `flow` once its source ended (largest slow_close).
    func slowCloseDelay(for flow: Toxic.Flow) -> Duration {
        self.entries.reduce(Duration.zero) { delay, entry in
            if case .slowClose(let extra) = entry.toxic.kind, entry.toxic.direction.covers(flow) { return max(delay, extra) }
            return delay
        }
    }

    /// The timers a connection opened at `connectionStart` needs: each timeout toxic above zero closes
    /// it, each reset_peer toxic resets it, that long after the toxic or the connection started,
    /// whichever is later.
    func timers(connectionStart: NIODeadline) -> [Timer] {
        self.entries.compactMap { entry in
            let from = max(entry.since, connectionStart)
            switch entry.toxic.kind {
            case .timeout(let timeout) where timeout > .zero:
                return Timer(id: entry.id, at: from + TimeAmount(timeout), action: .close)
            case .resetPeer(let after):
                return Timer(id: entry.id, at: from + TimeAmount(after), action: .reset(entry.toxic.direction))
            default:
                return nil
            }
        }
    }
}

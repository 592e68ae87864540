import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One proxied connection: the accepted client channel, the upstream channel it opened, and the two
/// flows between them. Every member is used on `eventLoop` only (both channels live on it); the
/// timing decisions come from ``FlowSchedule`` and ``ProxySnapshot``.
final class ProxyConnection {
    /// Which of the two channels an event comes from.
    enum Side: Sendable {
        case client
        case upstream
    }

    private struct FlowState {
        var queue = CircularBuffer<(bytes: ByteBuffer, notBefore: NIODeadline)>()
        var queuedBytes = 0
        var schedule: FlowSchedule
        var readOutstanding = false
        var pausedAtHighWater = false
        var sourceClosed = false
        var finishing = false
        var flushTimer: Scheduled<Void>?
        var lastWrite: EventLoopFuture<Void>?
    }

    private enum UpstreamState {
        case waitingForLink
        case connecting
        case connected(any Channel)
        case gone
    }

    let id: UInt64
    let eventLoop: any EventLoop
    private let client: any Channel
    private var upstream: UpstreamState = .waitingForLink
    private var flows: [Toxic.Flow: FlowState]
    private var snapshot: ProxySnapshot
    private var timers: [UInt64: Scheduled<Void>] = [:]
    private var generator: SplitMix64
    private let start: NIODeadline
    private let settings: FaultProxySettings
    private let upstreamHost: String
    private let upstreamPort: Int
    private let logger: Logger
    private var clientActive = false
    private var clientClosed = false
    private var finished = false
    private let onFinish: () -> Void
    private let board: ToxicBoard
    private let counters: ProxyCounters

    init(
        id: UInt64, client: any Channel, board: ToxicBoard, counters: ProxyCounters, settings: FaultProxySettings, upstreamHost: String,
        upstreamPort: Int, logger: Logger, onFinish: @escaping () -> Void
    ) {
        self.id = id
        self.client = client
        self.eventLoop = client.eventLoop
        self.board = board
        self.counters = counters
        self.snapshot = board.current
        self.settings = settings
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        self.logger = logger
        self.onFinish = onFinish
        self.start = .now()
        var seeder = SplitMix64(seed: settings.seed ^ (id &* 0x9E37_79B9_7F4A_7C15))
        self.generator = SplitMix64(seed: seeder.next())
        let schedule = FlowSchedule(bandwidthSliceSeconds: settings.bandwidthSliceSeconds)
        self.flows = [.upstream: FlowState(schedule: schedule), .downstream: FlowState(schedule: schedule)]
    }

    // MARK: - Life cycle

    /// The client channel is active: arms timers and connects upstream unless the link is
    /// partitioned. (Not earlier: a read requested before the accepted channel is registered is lost.)
    func clientBecameActive() {
        self.clientActive = true
        self.apply(self.board.current, force: true)
    }

    /// Takes a new snapshot of toxics and link state (older ones are ignored).
    func apply(_ snapshot: ProxySnapshot, force: Bool = false) {
        guard !self.finished, force || snapshot.version > self.snapshot.version else { return }
        self.snapshot = snapshot
        if snapshot.link == .down {
            self.cut()
            return
        }
        let wanted = snapshot.timers(connectionStart: self.start)
        let wantedIDs = Set(wanted.map(\.id))
        for (id, timer) in self.timers where !wantedIDs.contains(id) {
            timer.cancel()
            self.timers[id] = nil
        }
        for timer in wanted where self.timers[timer.id] == nil {
            self.timers[timer.id] = self.eventLoop.assumeIsolated().scheduleTask(deadline: timer.at) { [self] in
                self.timers[timer.id] = nil
                self.fire(timer.action)
            }
        }
        if case .waitingForLink = self.upstream, snapshot.link == .up, self.clientActive {
            self.connectUpstream()
        }
        self.flush(.upstream)
        self.flush(.downstream)
    }

    /// Closes both sides normally (link down, timeout toxic, proxy shutdown).
    func cut() {
        self.client.close(promise: nil)
        if case .connected(let channel) = self.upstream { channel.close(promise: nil) }
        if case .waitingForLink = self.upstream { self.upstream = .gone }
        self.checkFinished()
    }

    private func fire(_ action: ProxySnapshot.Timer.Action) {
        switch action {
        case .close:
            self.logger.debug("timeout toxic closes connection", metadata: ["connection": "\(self.id)"])
            self.cut()
        case .reset(let direction):
            self.logger.debug("reset_peer toxic resets connection", metadata: ["connection": "\(self.id)"])
            let upstreamChannel: (any Channel)? = if case .connected(let channel) = self.upstream { channel } else { nil }
            switch direction {
            case .downstream:
                Self.reset(self.client)
                upstreamChannel?.close(promise: nil)
            case .upstream:
                if let upstreamChannel { Self.reset(upstreamChannel) }
                self.client.close(promise: nil)
            case .both:
                Self.reset(self.client)
                if let upstreamChannel { Self.reset(upstreamChannel) }
            }
            if case .waitingForLink = self.upstream { self.upstream = .gone }
        }
    }

    /// Closes `channel` with a TCP RST: SO_LINGER on with a zero timeout, then close.
    static func reset(_ channel: any Channel) {
        guard let provider = channel as? any SocketOptionProvider else {
            channel.close(promise: nil)
            return
        }
        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    private func connectUpstream() {
        self.upstream = .connecting
        let bound = NIOLoopBound(self, eventLoop: self.eventLoop)
        ClientBootstrap(group: self.eventLoop)
            .connectTimeout(TimeAmount(self.settings.connectTimeout))
            .channelOption(.autoRead, value: false)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ProxyChannelHandler(connection: bound.value, side: .upstream))
                }
            }
            .connect(host: self.upstreamHost, port: self.upstreamPort)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    if self.clientClosed || self.finished {
                        self.upstream = .connected(channel)
                        channel.close(promise: nil)
                        return
                    }
                    self.upstream = .connected(channel)
                    self.readIfPossible(.upstream)
                    self.readIfPossible(.downstream)
                    self.flush(.upstream)
                case .failure(let error):
                    self.logger.warning(
                        "upstream unreachable, closing client connection",
                        metadata: ["upstream": "\(self.upstreamHost):\(self.upstreamPort)", "error": "\(error)"])
                    self.upstream = .gone
                    self.client.close(promise: nil)
                    self.checkFinished()
                }
            }
    }

    // MARK: - Events from the channel handlers

    /// Takes the board's snapshot if it is newer than the one in hand.
    private func refresh() {
        let latest = self.board.current
        if latest.version > self.snapshot.version { self.apply(latest) }
    }

    func read(_ side: Side, _ buffer: ByteBuffer) {
        self.refresh()
        let flow: Toxic.Flow = side == .client ? .upstream : .downstream
        guard self.destination(of: flow) != nil || side == .client else { return }
        let pieces = self.flows[flow]!.schedule.plan(
            length: buffer.readableBytes, arrival: .now(), toxics: self.snapshot.kinds(for: flow), using: &self.generator)
        for piece in pieces {
            guard let slice = buffer.getSlice(at: buffer.readerIndex + piece.offset, length: piece.length) else { continue }
            self.flows[flow]!.queue.append((slice, piece.notBefore))
            self.flows[flow]!.queuedBytes += piece.length
            self.counters.hold(piece.length)
        }
        if self.flows[flow]!.queuedBytes >= self.settings.highWaterMark {
            self.flows[flow]!.pausedAtHighWater = true
        }
        self.flush(flow)
    }

    func readComplete(_ side: Side) {
        let flow: Toxic.Flow = side == .client ? .upstream : .downstream
        self.flows[flow]!.readOutstanding = false
        self.readIfPossible(flow)
    }

    func writabilityChanged(_ side: Side) {
        // The side that became writable is the destination of the other side's flow.
        self.flush(side == .client ? .downstream : .upstream)
    }

    func inactive(_ side: Side) {
        switch side {
        case .client:
            self.clientClosed = true
            self.flows[.upstream]!.sourceClosed = true
            self.drop(.downstream)
            if case .waitingForLink = self.upstream { self.upstream = .gone }
            self.flush(.upstream)
        case .upstream:
            self.flows[.downstream]!.sourceClosed = true
            self.drop(.upstream)
            self.upstream = .gone
            self.flush(.downstream)
        }
        self.checkFinished()
    }

    // MARK: - Flows

    private func source(of flow: Toxic.Flow) -> (any Channel)? {
        switch flow {
        case .upstream: return self.clientClosed ? nil : self.client
        case .downstream: if case .connected(let channel) = self.upstream { return channel } else { return nil }
        }
    }

    private func destination(of flow: Toxic.Flow) -> (any Channel)? {
        switch flow {
        case .upstream: if case .connected(let channel) = self.upstream { return channel } else { return nil }
        case .downstream: return self.clientClosed ? nil : self.client
        }
    }

    /// Asks the flow's source for more bytes unless one read is pending, the source ended, the
    /// destination is gone, or held bytes are above the high-water mark (until below the low one).
    private func readIfPossible(_ flow: Toxic.Flow) {
        guard case .connected = self.upstream else { return }
        guard let source = self.source(of: flow), self.destination(of: flow) != nil else { return }
        var state = self.flows[flow]!
        if state.pausedAtHighWater, state.queuedBytes < self.settings.lowWaterMark {
            state.pausedAtHighWater = false
        }
        guard !state.readOutstanding, !state.sourceClosed, !state.pausedAtHighWater else {
            self.flows[flow] = state
            return
        }
        state.readOutstanding = true
        self.flows[flow] = state
        source.read()
    }

    /// Writes every piece that is due, arms a timer for the next one, resumes reading below the
    /// low-water mark, and closes the destination once the source ended and nothing is left.
    private func flush(_ flow: Toxic.Flow) {
        guard !self.finished, let destination = self.destination(of: flow) else { return }
        self.refresh()
        guard !self.finished, !self.snapshot.isHeld(flow) else { return }
        let now = NIODeadline.now()
        var wrote = false
        while let head = self.flows[flow]!.queue.first, head.notBefore <= now, destination.isWritable {
            self.flows[flow]!.queue.removeFirst()
            self.flows[flow]!.queuedBytes -= head.bytes.readableBytes
            self.counters.release(head.bytes.readableBytes)
            let promise = self.eventLoop.makePromise(of: Void.self)
            destination.write(head.bytes, promise: promise)
            self.flows[flow]!.lastWrite = promise.futureResult
            wrote = true
        }
        if wrote { destination.flush() }
        if let head = self.flows[flow]!.queue.first, head.notBefore > now, self.flows[flow]!.flushTimer == nil {
            self.flows[flow]!.flushTimer = self.eventLoop.assumeIsolated().scheduleTask(deadline: head.notBefore) { [self] in
                self.flows[flow]!.flushTimer = nil
                self.flush(flow)
            }
        }
        self.readIfPossible(flow)
        if self.flows[flow]!.queue.isEmpty, self.flows[flow]!.sourceClosed, !self.flows[flow]!.finishing {
            self.flows[flow]!.finishing = true
            let delay = self.snapshot.slowCloseDelay(for: flow)
            let lastWrite = self.flows[flow]!.lastWrite ?? self.eventLoop.makeSucceededVoidFuture()
            lastWrite.assumeIsolated().whenComplete { _ in
                if delay > .zero {
                    self.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { destination.close(promise: nil) }
                } else {
                    destination.close(promise: nil)
                }
            }
        }
    }

    /// Forgets the bytes of a flow whose destination is gone.
    private func drop(_ flow: Toxic.Flow) {
        self.flows[flow]!.flushTimer?.cancel()
        self.flows[flow]!.flushTimer = nil
        self.flows[flow]!.queue.removeAll()
        self.counters.release(self.flows[flow]!.queuedBytes)
        self.flows[flow]!.queuedBytes = 0
    }

    private func checkFinished() {
        guard !self.finished, self.clientClosed else { return }
        switch self.upstream {
        case .gone, .waitingForLink:
            break
        case .connecting, .connected:
            return
        }
        self.finished = true
        for timer in self.timers.values { timer.cancel() }
        self.timers = [:]
        self.drop(.upstream)
        self.drop(.downstream)
        self.onFinish()
    }
}

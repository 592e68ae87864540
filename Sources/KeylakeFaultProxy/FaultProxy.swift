public import Logging
public import NIOCore
import NIOPosix
import Synchronization

/// A TCP fault proxy in the manner of toxiproxy: it listens, opens one upstream connection per
/// accepted client connection, and pumps bytes both ways through the toxics in force.
///
/// It knows nothing of TLS or the Keylake protocol, so mutual TLS passes through untouched. Toxics
/// and the link state can be changed at any time from any task while connections are open; every
/// connection sees the change at once. Memory stays bounded: a flow whose bytes are held stops
/// reading at ``FaultProxySettings/highWaterMark``.
///
/// ```swift
/// let proxy = FaultProxy(configuration: .init(upstreamHost: "127.0.0.1", upstreamPort: kmsdPort, logger: logger))
/// let port = try await proxy.start()             // point fhird at 127.0.0.1:port
/// try proxy.addToxic(Toxic(kind: .latency(latency: .milliseconds(200), jitter: .milliseconds(50)), direction: .both))
/// try proxy.removeToxic(named: "latency")
/// await proxy.partition()                          // silence both ways; nothing closed
/// try await proxy.up()                             // heal: held bytes flow again
/// await proxy.down()                               // refuse new connections, cut open ones
/// try await proxy.up()                             // listen again on the same port
/// await proxy.shutdown()
/// ```
///
/// ``run()`` is the structured alternative to ``start()``/``shutdown()``: it binds, then returns
/// when ``shutdown()`` is called or its task is cancelled.
public final class FaultProxy: Sendable {
    /// Where the proxy listens and what it forwards to.
    public struct Configuration: Sendable {
        /// Address to listen on.
        public var listenHost: String
        /// Port to listen on; 0 picks a free one (``start()`` returns it).
        public var listenPort: Int
        /// Host of the upstream server.
        public var upstreamHost: String
        /// Port of the upstream server.
        public var upstreamPort: Int
        /// Limits and defaults.
        public var settings: FaultProxySettings
        /// Logger for connection events; never given forwarded bytes.
        public var logger: Logger

        /// A configuration; by default listens on 127.0.0.1 on a free port.
        public init(
            listenHost: String = "127.0.0.1", listenPort: Int = 0, upstreamHost: String, upstreamPort: Int,
            settings: FaultProxySettings = FaultProxySettings(), logger: Logger
        ) {
            self.listenHost = listenHost
            self.listenPort = listenPort
            self.upstreamHost = upstreamHost
            self.upstreamPort = upstreamPort
            self.settings = settings
            self.logger = logger
        }
    }

    private enum Phase {
        case idle, binding, running, stopped
    }

    private struct Handle: Sendable {
        var client: any Channel
        var connection: NIOLoopBound<ProxyConnection>
    }

    private struct State {
        var phase = Phase.idle
        var listener: (any Channel)?
        var boundPort: Int?
        var rebinding = false
        var entries: [ProxySnapshot.Entry] = []
        var nextEntryID: UInt64 = 1
        var version: UInt64 = 0
        var link = LinkState.up
        var connections: [UInt64: Handle] = [:]
        var nextConnectionID: UInt64 = 0

        var snapshot: ProxySnapshot { ProxySnapshot(version: self.version, entries: self.entries, link: self.link) }
    }

    private let configuration: Configuration
    private let group: any EventLoopGroup
    private let state = Mutex(State())
    private let board = ToxicBoard(ProxySnapshot(version: 0, entries: [], link: .up))
    private let counters = ProxyCounters()
    private let stopped: EventLoopPromise<Void>

    /// Creates a proxy; nothing is bound until ``start()`` or ``run()``.
    public init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        self.stopped = group.any().makePromise(of: Void.self)
    }

    deinit {
        self.stopped.succeed(())
    }

    // MARK: - Life cycle

    /// Binds the listener and starts accepting; returns the bound port. Calling it again returns the
    /// same port.
    ///
    /// - Throws: ``FaultProxyError`` `bindFailed`, or `notRunning` after ``shutdown()``.
    @discardableResult
    public func start() async throws -> Int {
        let mustBind: Bool = try self.state.withLock { state in
            switch state.phase {
            case .idle:
                state.phase = .binding
                return true
            case .binding, .running:
                return false
            case .stopped:
                throw FaultProxyError(.notRunning, "the proxy was shut down")
            }
        }
        guard mustBind else { return try await self.boundPort() }
        let listener: any Channel
        do {
            listener = try await self.bind(port: self.configuration.listenPort)
        } catch {
            self.state.withLock { $0.phase = .stopped }
            self.stopped.succeed(())
            throw error
        }
        let port = listener.localAddress?.port ?? self.configuration.listenPort
        let stillWanted = self.state.withLock { state in
            guard state.phase == .binding else { return false }
            state.phase = .running
            state.listener = listener
            state.boundPort = port
            return true
        }
        guard stillWanted else {
            try? await listener.close()
            throw FaultProxyError(.notRunning, "the proxy was shut down while binding")
        }
        self.configuration.logger.info(
            "fault proxy listening",
            metadata: [
                "listen": "\(self.configuration.listenHost):\(port)",
                "upstream": "\(self.configuration.upstreamHost):\(self.configuration.upstreamPort)",
            ])
        return port
    }

    /// Starts the proxy if needed and returns once it is shut down: by ``shutdown()`` or by
    /// cancelling the calling task.
    ///
    /// - Throws: ``FaultProxyError`` `bindFailed` when the listener cannot be opened.
    public func run() async throws {
        try await self.start()
        await withTaskCancellationHandler {
            try? await self.stopped.futureResult.get()
        } onCancel: {
            Task { await self.shutdown() }
        }
    }

    /// Stops listening and closes every connection; ``run()`` returns. The proxy cannot be started again.
    public func shutdown() async {
        let (listener, handles) = self.state.withLock { state in
            state.phase = .stopped
            state.link = .down
            state.version += 1
            self.board.publish(state.snapshot)
            defer { state.listener = nil }
            return (state.listener, Array(state.connections.values))
        }
        try? await listener?.close()
        for handle in handles {
            handle.client.eventLoop.execute { handle.connection.value.cut() }
            try? await handle.client.closeFuture.get()
        }
        self.stopped.succeed(())
    }

    /// The bound port, once ``start()`` has bound it.
    public var port: Int? {
        self.state.withLock { $0.boundPort }
    }

    /// Connections open now.
    public var connectionCount: Int {
        self.state.withLock { $0.connections.count }
    }

    /// Bytes read from one side and not yet written to the other, over all connections: what
    /// latency, slicing, bandwidth limits and blackholes hold. Bounded per flow by
    /// ``FaultProxySettings/highWaterMark`` (plus at most one read).
    public var heldBytes: Int {
        self.counters.heldBytes.load(ordering: .relaxed)
    }

    /// The current link state.
    public var linkState: LinkState {
        self.state.withLock { $0.link }
    }

    private func boundPort() async throws -> Int {
        // Another caller is binding: wait for it, bounded by the connect timeout.
        let deadline = ContinuousClock.now + self.configuration.settings.connectTimeout
        while ContinuousClock.now < deadline {
            let (phase, port) = self.state.withLock { ($0.phase, $0.boundPort) }
            if let port { return port }
            if phase == .stopped { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw FaultProxyError(.notRunning, "the proxy is not listening")
    }

    // MARK: - Link state

    /// Takes the link down: closes the listener, so new connections are refused, and cuts every open
    /// connection. ``up()`` listens again on the same port.
    public func down() async {
        let (listener, handles, snapshot) = self.state.withLock { state in
            state.link = .down
            state.version += 1
            self.board.publish(state.snapshot)
            defer { state.listener = nil }
            return (state.listener, Array(state.connections.values), state.snapshot)
        }
        self.broadcast(snapshot, to: handles)
        try? await listener?.close()
        self.configuration.logger.info("fault proxy down")
    }

    /// Partitions the link: no byte moves either way and new connections wait, nothing is closed
    /// (see ``LinkState/partitioned``). ``up()`` heals it.
    public func partition() async {
        let (handles, snapshot) = self.state.withLock { state in
            if state.link == .up { state.link = .partitioned }
            state.version += 1
            self.board.publish(state.snapshot)
            return (Array(state.connections.values), state.snapshot)
        }
        self.broadcast(snapshot, to: handles)
        self.configuration.logger.info("fault proxy partitioned")
    }

    /// Brings the link up after ``down()`` (listening again on the same port) or ``partition()``
    /// (delivering held bytes).
    ///
    /// - Throws: ``FaultProxyError`` `bindFailed` when the port was taken meanwhile, `notRunning`
    ///   when the proxy is not started or shut down.
    public func up() async throws {
        let (needsListener, port, handles, snapshot) = try self.state.withLock { state in
            guard state.phase == .running, let port = state.boundPort else {
                throw FaultProxyError(.notRunning, "the proxy is not running")
            }
            state.link = .up
            state.version += 1
            self.board.publish(state.snapshot)
            let needsListener = state.listener == nil && !state.rebinding
            if needsListener { state.rebinding = true }
            return (needsListener, port, Array(state.connections.values), state.snapshot)
        }
        self.broadcast(snapshot, to: handles)
        guard needsListener else { return }
        let listener: any Channel
        do {
            listener = try await self.bind(port: port)
        } catch {
            self.state.withLock { $0.rebinding = false }
            throw error
        }
        let keep = self.state.withLock { state in
            state.rebinding = false
            guard state.phase == .running, state.link != .down, state.listener == nil else { return false }
            state.listener = listener
            return true
        }
        if !keep { try? await listener.close() }
        self.configuration.logger.info("fault proxy up")
    }

    // MARK: - Toxics

    /// The toxics in force, in the order they were added.
    public var toxics: [Toxic] {
        self.state.withLock { $0.entries.map(\.toxic) }
    }

    /// Adds a toxic; it applies to open connections at once.
    ///
    /// - Throws: ``FaultProxyError`` `duplicateToxic` when one has the same name, `invalidToxic`
    ///   when a parameter is out of range.
    public func addToxic(_ toxic: Toxic) throws {
        try toxic.validate()
        try self.changeToxics { entries, id in
            guard !entries.contains(where: { $0.toxic.name == toxic.name }) else {
                throw FaultProxyError(.duplicateToxic, "a toxic named '\(toxic.name)' exists; update or remove it")
            }
            entries.append(.init(toxic: toxic, id: id, since: .now()))
        }
    }

    /// Adds a toxic or replaces the one with the same name (keeping its place); timers of a replaced
    /// timeout or reset_peer toxic start again.
    ///
    /// - Throws: ``FaultProxyError`` `invalidToxic`.
    public func setToxic(_ toxic: Toxic) throws {
        try toxic.validate()
        try self.changeToxics { entries, id in
            let entry = ProxySnapshot.Entry(toxic: toxic, id: id, since: .now())
            if let index = entries.firstIndex(where: { $0.toxic.name == toxic.name }) {
                entries[index] = entry
            } else {
                entries.append(entry)
            }
        }
    }

    /// Removes the toxic named `name`; held bytes are delivered if it was a blackhole.
    ///
    /// - Throws: ``FaultProxyError`` `unknownToxic`.
    public func removeToxic(named name: String) throws {
        try self.changeToxics { entries, _ in
            guard let index = entries.firstIndex(where: { $0.toxic.name == name }) else {
                throw FaultProxyError(.unknownToxic, "no toxic named '\(name)'")
            }
            entries.remove(at: index)
        }
    }

    /// Removes every toxic (the link state is unchanged).
    public func removeAllToxics() {
        try? self.changeToxics { entries, _ in entries.removeAll() }
    }

    private func changeToxics(_ change: (inout [ProxySnapshot.Entry], UInt64) throws -> Void) throws {
        let (handles, snapshot) = try self.state.withLock { state in
            try change(&state.entries, state.nextEntryID)
            state.nextEntryID += 1
            state.version += 1
            self.board.publish(state.snapshot)
            return (Array(state.connections.values), state.snapshot)
        }
        self.broadcast(snapshot, to: handles)
    }

    private func broadcast(_ snapshot: ProxySnapshot, to handles: [Handle]) {
        for handle in handles {
            handle.client.eventLoop.execute { handle.connection.value.apply(snapshot) }
        }
    }

    // MARK: - Accepting

    private func bind(port: Int) async throws -> any Channel {
        let settings = self.configuration.settings
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 64 * 1024))
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.accept(channel, settings: settings)
                }
            }
        do {
            return try await bootstrap.bind(host: self.configuration.listenHost, port: port).get()
        } catch {
            throw FaultProxyError(.bindFailed, "cannot listen on \(self.configuration.listenHost):\(port): \(error)")
        }
    }

    /// Runs on the accepted channel's event loop: admits it (or closes it) and starts its connection.
    private func accept(_ channel: any Channel, settings: FaultProxySettings) throws {
        let logger = self.configuration.logger
        let admitted: UInt64? = self.state.withLock { state in
            guard state.phase == .running, state.link != .down, state.connections.count < settings.maxConnections else {
                return nil
            }
            state.nextConnectionID += 1
            return state.nextConnectionID
        }
        guard let id = admitted else {
            logger.warning("refusing connection: proxy down or connection limit reached", metadata: ["limit": "\(settings.maxConnections)"])
            ProxyConnection.reset(channel)
            return
        }
        let connection = ProxyConnection(
            id: id, client: channel, board: self.board, counters: self.counters, settings: settings, upstreamHost: self.configuration.upstreamHost,
            upstreamPort: self.configuration.upstreamPort, logger: logger,
            onFinish: { [self] in
                self.state.withLock { _ = $0.connections.removeValue(forKey: id) }
            })
        try channel.pipeline.syncOperations.addHandler(ProxyChannelHandler(connection: connection, side: .client))
        self.state.withLock { state in
            state.connections[id] = Handle(client: channel, connection: NIOLoopBound(connection, eventLoop: channel.eventLoop))
        }
    }
}

public import GRPCCore
public import Logging
public import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The server side of the Keylake wire protocol as a GRPCCore `ServerTransport`: TLS 1.3 with
/// required client certificates, framed calls multiplexed on each connection.
///
/// Use it with `GRPCServer(transport:services:)`. The caller's verified principal reaches
/// services as ``GRPCCore/ServerContext/peerIdentity``. There is no plaintext mode.
public final class KeylakeServerTransport: ServerTransport, Sendable {
    public typealias Bytes = TransportBytes

    /// Where and how the server listens.
    public struct Configuration: Sendable {
        /// Address to bind, e.g. "127.0.0.1".
        public var host: String
        /// Port to bind; 0 picks a free one (see ``KeylakeServerTransport/listeningAddress()``).
        public var port: Int
        /// The server's certificate, key and the CA bundle client certificates must chain to.
        public var tls: TLSFiles
        /// Protocol limits.
        public var limits: ServerLimits
        /// Logger for connection events; never given payloads or key material.
        public var logger: Logger

        public init(host: String, port: Int, tls: TLSFiles, limits: ServerLimits = ServerLimits(), logger: Logger) {
            self.host = host
            self.port = port
            self.tls = tls
            self.limits = limits
            self.logger = logger
        }
    }

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var accept: AsyncStream<AcceptedStream>.Continuation?
        var shuttingDown = false
        var listenerClosed = false
    }

    private let configuration: Configuration
    private let group: any EventLoopGroup
    private let state = Mutex(State())
    private let address: EventLoopPromise<SocketAddress>

    /// Creates a transport; nothing is bound until `listen` runs.
    public init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        self.address = group.any().makePromise(of: SocketAddress.self)
    }

    deinit {
        self.address.fail(TransportError(.notListening, "server transport released before listening"))
    }

    /// The bound address, once `listen` has bound it.
    ///
    /// - Throws: ``TransportError`` if binding failed.
    public func listeningAddress() async throws -> SocketAddress {
        try await self.address.futureResult.get()
    }

    public func listen(
        streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
    ) async throws {
        let sslContext: NIOSSLContext
        do {
            sslContext = try NIOSSLContext(configuration: self.configuration.tls.serverConfiguration())
        } catch {
            self.address.fail(error)
            throw error
        }
        let (accepted, acceptContinuation) = AsyncStream<AcceptedStream>.makeStream()
        let alreadyListening = self.state.withLock { state in
            if state.accept != nil { return true }
            state.accept = acceptContinuation
            return false
        }
        if alreadyListening {
            throw TransportError(.alreadyListening, "listen was called twice")
        }

        let limits = self.configuration.limits
        let logger = self.configuration.logger
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                guard self.admit(channel) else {
                    logger.warning(
                        "refusing connection: connection limit reached",
                        metadata: ["peer": "\(channel.remoteAddress.map { "\($0)" } ?? "unknown")", "limit": "\(limits.maxConnections)"])
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in self.forget(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLServerHandler(context: sslContext))
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: limits.maxFrameSize)))
                    try sync.addHandler(
                        ServerConnectionHandler(limits: limits, accept: acceptContinuation, logger: logger))
                }
            }

        let listener: any Channel
        do {
            listener = try await bootstrap.bind(host: self.configuration.host, port: self.configuration.port).get()
        } catch {
            let failure = TransportError(
                .bindFailed, "cannot listen on \(self.configuration.host):\(self.configuration.port): \(error)")
            self.address.fail(failure)
            acceptContinuation.finish()
            throw failure
        }
        let shutDownEarly = self.state.withLock { state in
            state.listener = listener
            return state.shuttingDown
        }
        if let local = listener.localAddress {
            self.address.succeed(local)
        }
        logger.info("listening", metadata: ["address": "\(listener.localAddress.map { "\($0)" } ?? "?")"])
        if shutDownEarly { self.beginGracefulShutdown() }
        listener.closeFuture.whenComplete { _ in self.listenerDidClose() }

        await withDiscardingTaskGroup { group in
            for await call in accepted {
                group.addTask { await Self.run(call, streamHandler) }
            }
        }
    }

    public func beginGracefulShutdown() {
        let (listener, connections) = self.state.withLock { state in
            state.shuttingDown = true
            return (state.listener, Array(state.connections.values))
        }
        listener?.close(promise: nil)
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(ServerConnectionHandler.GracefulShutdownEvent())
        }
        self.finishIfDrained()
    }

    // MARK: - Calls

    /// Runs one call's handler with its context. The handler runs in a task of its own whose
    /// handle goes to the connection (``CallCanceller``): a CANCEL frame, the deadline, a broken
    /// limit or the end of the shutdown grace period cancels that task directly, so every `await`
    /// in the handler sees it. (An earlier version ran the handler and a watcher of the
    /// cancellation handle as two children of a task group inside this task: three tasks and a
    /// group per call where there are now two tasks; docs/benchmarks.md has the measurement.)
    private static func run(
        _ call: AcceptedStream,
        _ streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
    ) async {
        await withServerContextRPCCancellationHandle { handle in
            var context = ServerContext(
                descriptor: call.stream.descriptor,
                remotePeer: call.remotePeer,
                localPeer: call.localPeer,
                cancellation: handle)
            context.transportSpecific = call.identity
            let stream = call.stream
            let callContext = context
            // Unstructured so that its handle exists; it inherits priority and task-local values,
            // and this (structured) task waits for it, so `listen` still outlives every handler.
            let task = Task { await streamHandler(stream, callContext) }
            call.registerCancellation(CallCanceller(handle: handle, task: task))
            await withTaskCancellationHandler {
                await task.value
            } onCancel: {
                task.cancel()
            }
        }
    }

    // MARK: - Connection registry

    private func admit(_ channel: any Channel) -> Bool {
        self.state.withLock { state in
            guard !state.shuttingDown, state.connections.count < self.configuration.limits.maxConnections else {
                return false
            }
            state.connections[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    private func forget(_ channel: any Channel) {
        self.state.withLock { state in
            _ = state.connections.removeValue(forKey: ObjectIdentifier(channel))
        }
        self.finishIfDrained()
    }

    private func listenerDidClose() {
        self.state.withLock { state in
            state.listenerClosed = true
            state.shuttingDown = true
        }
        let connections = self.state.withLock { Array($0.connections.values) }
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(ServerConnectionHandler.GracefulShutdownEvent())
        }
        self.finishIfDrained()
    }

    /// Ends `listen` once the listener is closed and every connection has gone.
    private func finishIfDrained() {
        let accept: AsyncStream<AcceptedStream>.Continuation? = self.state.withLock { state in
            guard state.shuttingDown, state.listenerClosed, state.connections.isEmpty else { return nil }
            return state.accept
        }
        accept?.finish()
    }
}

/// Cancels one call: flags GRPCCore's RPC as cancelled (`ServerContext.RPCCancellationHandle`)
/// and cancels the task running its handler. GRPCCore only flags a cancelled RPC; handlers that
/// sleep or wait would not notice, so the server cancels the task too and really stops the work.
struct CallCanceller: Sendable {
    let handle: ServerContext.RPCCancellationHandle
    let task: Task<Void, Never>

    func cancel() {
        self.handle.cancel()
        self.task.cancel()
    }
}

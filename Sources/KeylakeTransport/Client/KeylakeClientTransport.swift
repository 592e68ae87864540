public import GRPCCore
public import Logging
public import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The client side of the Keylake wire protocol as a GRPCCore `ClientTransport`.
///
/// One multiplexed TLS 1.3 connection per target carries every call. `connect()` keeps it up:
/// when it is lost, or the server sends GOAWAY, a new one is made, with exponential backoff and
/// jitter between failed attempts. Calls fail fast with `UNAVAILABLE` while the target cannot be
/// reached, so callers (or GRPCCore's retry policy) can retry; a call waiting for a connection
/// that is being made waits no longer than its deadline.
public final class KeylakeClientTransport: ClientTransport, Sendable {
    public typealias Bytes = TransportBytes

    /// Where to connect and as whom.
    public struct Configuration: Sendable {
        /// Host to connect to.
        public var host: String
        /// Port to connect to.
        public var port: Int
        /// Name the server certificate must carry (DNS SAN); also sent as SNI.
        public var serverHostname: String
        /// This client's certificate and key, and the CA bundle the server must chain to.
        public var tls: TLSFiles
        /// Timeouts, keepalive and backoff.
        public var settings: ClientSettings
        /// Logger for connection events.
        public var logger: Logger

        public init(
            host: String, port: Int, serverHostname: String = "localhost", tls: TLSFiles,
            settings: ClientSettings = ClientSettings(), logger: Logger = Logger(label: "keylake.client")
        ) {
            self.host = host
            self.port = port
            self.serverHostname = serverHostname
            self.tls = tls
            self.settings = settings
            self.logger = logger
        }
    }

    private enum ConnectionState {
        case idle
        case connecting
        case ready(ClientConnection)
        case backingOff(lastError: String)
        case shutDown
    }

    private struct State {
        var connection: ConnectionState = .idle
        var waiters: [Int: CheckedContinuation<ClientConnection, any Error>] = [:]
        var nextWaiterID = 0
        var shutdownRequested = false
        var backoffWakeUp: CheckedContinuation<Void, Never>?
        /// Why the last connection attempt failed, kept across attempts until one succeeds, so a
        /// call that waited for a connection until its deadline can say what went wrong even while
        /// the next attempt is under way.
        var lastConnectError: String?
        /// Set once the current backoff has ended (slept, cancelled or shut down), so a wake-up
        /// waiter that starts only after that returns at once instead of waiting for ever.
        var backoffEnded = false
    }

    private let configuration: Configuration
    private let group: any EventLoopGroup
    private let sslContext: NIOSSLContext
    private let state = Mutex(State())
    private let nextLocalID = Atomic<Int>(0)

    /// Creates a transport. Nothing connects until `connect()` runs (GRPCClient does that).
    ///
    /// - Throws: ``TransportError`` when the TLS files cannot be read.
    public init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.configuration = configuration
        self.group = group
        self.sslContext = try NIOSSLContext(configuration: configuration.tls.clientConfiguration())
    }

    public var retryThrottle: RetryThrottle? { nil }

    public func config(forMethod descriptor: MethodDescriptor) -> MethodConfig? { nil }

    public func connect() async throws {
        var attempt = 0
        // Runs until shutdown is requested or the task is cancelled (GRPCCore cancels it when the
        // code using the client throws); every wait below ends on either.
        while !self.state.withLock({ $0.shutdownRequested }), !Task.isCancelled {
            self.state.withLock { $0.connection = .connecting }
            do {
                let connection = try await self.establish()
                attempt = 0
                let waiters = self.state.withLock { state -> [CheckedContinuation<ClientConnection, any Error>] in
                    state.connection = .ready(connection)
                    state.lastConnectError = nil
                    defer { state.waiters.removeAll() }
                    return Array(state.waiters.values)
                }
                for waiter in waiters { waiter.resume(returning: connection) }
                if self.state.withLock({ $0.shutdownRequested }) {
                    connection.beginGracefulShutdown()
                }
                // Wait until the connection takes no more calls; then make the next one.
                // A future's `get()` ignores cancellation, so cancellation closes the connection.
                await withTaskCancellationHandler {
                    try? await connection.unusable.get()
                } onCancel: {
                    connection.beginGracefulShutdown()
                }
                self.state.withLock { state in
                    if case .ready(let current) = state.connection, current === connection {
                        state.connection = .idle
                    }
                }
            } catch {
                attempt += 1
                let message = "cannot connect to \(self.configuration.host):\(self.configuration.port): \(ConnectionFailure.describe(error))"
                self.configuration.logger.debug("connection attempt failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                let waitForReady = self.configuration.settings.waitForReady
                let waiters = self.state.withLock { state -> [CheckedContinuation<ClientConnection, any Error>] in
                    state.connection = .backingOff(lastError: message)
                    state.lastConnectError = message
                    // Waiting callers keep waiting for the next attempt; their deadlines bound them.
                    if waitForReady { return [] }
                    defer { state.waiters.removeAll() }
                    return Array(state.waiters.values)
                }
                for waiter in waiters { waiter.resume(throwing: RPCError(code: .unavailable, message: message)) }
                await self.sleepForBackoff(attempt: attempt)
            }
        }
        let waiters = self.state.withLock { state -> [CheckedContinuation<ClientConnection, any Error>] in
            state.connection = .shutDown
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(throwing: RPCError(code: .unavailable, message: "client is shut down")) }
    }

    public func beginGracefulShutdown() {
        let (connection, wakeUp) = self.state.withLock { state -> (ClientConnection?, CheckedContinuation<Void, Never>?) in
            state.shutdownRequested = true
            defer { state.backoffWakeUp = nil }
            if case .ready(let connection) = state.connection { return (connection, state.backoffWakeUp) }
            return (nil, state.backoffWakeUp)
        }
        connection?.beginGracefulShutdown()
        wakeUp?.resume()
    }

    public func withStream<T: Sendable>(
        descriptor: MethodDescriptor,
        options: CallOptions,
        _ closure: (RPCStream<Inbound, Outbound>, ClientContext) async throws -> T
    ) async throws -> T {
        // A scope's deadline (TransportDeadline) applies unless GRPCCore already enforces one.
        let deadline = options.timeout == nil ? TransportDeadline.current : nil
        if let deadline, deadline <= .now {
            throw RPCError(code: .deadlineExceeded, message: "deadline exceeded before the call started")
        }
        let connection = try await self.readyConnection(deadline: deadline)
        let localID = self.nextLocalID.wrappingAdd(1, ordering: .relaxed).newValue
        let inbound = PartBuffer<RPCResponsePart<TransportBytes>>()
        let continuation = inbound
        connection.register(localID: localID, continuation: continuation)
        defer { connection.release(localID: localID) }

        let writer = ClientStreamWriter(
            connection: connection, localID: localID, method: descriptor.wirePath, timeout: options.timeout, deadline: deadline)
        let stream = RPCStream(
            descriptor: descriptor,
            inbound: RPCAsyncSequence(wrapping: inbound),
            outbound: RPCWriter.Closable(wrapping: writer))
        let context = ClientContext(
            descriptor: descriptor, remotePeer: connection.remotePeer, localPeer: connection.localPeer)
        return try await withTaskCancellationHandler {
            try await closure(stream, context)
        } onCancel: {
            connection.release(localID: localID)
        }
    }

    // MARK: - Connections

    private func readyConnection(deadline: ContinuousClock.Instant?) async throws -> ClientConnection {
        // Fast path: the connection is up (almost every call).
        if case .ready(let connection) = self.state.withLock({ $0.connection }) { return connection }
        enum Next { case use(ClientConnection), wait, fail(RPCError) }
        let waiterID = self.state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ClientConnection, any Error>) in
                let next: Next = self.state.withLock { state in
                    switch state.connection {
                    case .ready(let connection):
                        return .use(connection)
                    case .backingOff(let lastError):
                        if !self.configuration.settings.waitForReady {
                            return .fail(RPCError(code: .unavailable, message: lastError))
                        }
                        if Task.isCancelled {
                            return .fail(RPCError(code: .cancelled, message: "call cancelled while waiting for a connection"))
                        }
                        state.waiters[waiterID] = continuation
                        return .wait
                    case .shutDown:
                        return .fail(RPCError(code: .unavailable, message: "client is shut down"))
                    case .idle, .connecting:
                        // Checked under the lock, so a cancellation that ran before this point is seen.
                        if Task.isCancelled {
                            return .fail(RPCError(code: .cancelled, message: "call cancelled while waiting for a connection"))
                        }
                        state.waiters[waiterID] = continuation
                        return .wait
                    }
                }
                switch next {
                case .use(let connection): continuation.resume(returning: connection)
                case .fail(let error): continuation.resume(throwing: error)
                case .wait:
                    // A transport deadline bounds the wait (GRPCCore bounds it for CallOptions.timeout).
                    if let deadline {
                        let remaining = ContinuousClock.now.duration(to: deadline)
                        self.group.any().scheduleTask(in: TimeAmount(Swift.max(remaining, .zero))) {
                            let (waiter, lastError) = self.state.withLock { state -> (CheckedContinuation<ClientConnection, any Error>?, String?) in
                                (state.waiters.removeValue(forKey: waiterID), state.lastConnectError)
                            }
                            // Say why no connection came: the last attempt's cause, if there was one.
                            let message = "deadline exceeded while waiting for a connection" + (lastError.map { " (\($0))" } ?? "")
                            waiter?.resume(throwing: RPCError(code: .deadlineExceeded, message: message))
                        }
                    }
                }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: waiterID) }
            waiter?.resume(throwing: RPCError(code: .cancelled, message: "call cancelled while waiting for a connection"))
        }
    }

    private func establish() async throws -> ClientConnection {
        let settings = self.configuration.settings
        let ready = self.group.any().makePromise(of: Void.self)
        let unusable = ready.futureResult.eventLoop.makePromise(of: Void.self)
        let sslContext = self.sslContext
        let hostname = self.configuration.serverHostname
        let logger = self.configuration.logger
        let bootstrap = ClientBootstrap(group: ready.futureResult.eventLoop)
            .connectTimeout(TimeAmount(settings.connectTimeout))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: hostname))
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: settings.maxFrameSize)))
                    try sync.addHandler(
                        ClientConnectionHandler(settings: settings, ready: ready, unusable: unusable, logger: logger))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: self.configuration.host, port: self.configuration.port).get()
        } catch {
            ready.fail(error)
            unusable.succeed(())
            throw error
        }
        let timeout = channel.eventLoop.scheduleTask(in: TimeAmount(settings.connectTimeout)) {
            ready.fail(RPCError(code: .unavailable, message: "no HELLO from the server within the connect timeout"))
        }
        do {
            try await withTaskCancellationHandler {
                try await ready.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
            timeout.cancel()
        } catch {
            timeout.cancel()
            channel.close(promise: nil)
            throw error
        }
        return try await ClientConnection.make(channel: channel, unusable: unusable.futureResult)
    }

    private func sleepForBackoff(attempt: Int) async {
        let settings = self.configuration.settings
        let base = settings.backoffInitial.seconds * pow(settings.backoffMultiplier, Double(attempt - 1))
        let capped = min(base, settings.backoffMax.seconds)
        let jittered = capped * Double.random(in: (1 - settings.backoffJitter)...(1 + settings.backoffJitter))
        let delay = Duration.milliseconds(Int64(jittered * 1000))
        self.state.withLock { $0.backoffEnded = false }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: delay)
            }
            group.addTask {
                await withCheckedContinuation { continuation in
                    // The sleeper may already have ended (cancellation ends it at once, possibly
                    // before this task first runs): then there is nothing to wait for.
                    let resumeNow = self.state.withLock { state -> Bool in
                        if state.shutdownRequested || state.backoffEnded { return true }
                        state.backoffWakeUp = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            await group.next()
            // Whichever finished first, release the other.
            let wakeUp = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.backoffEnded = true
                defer { state.backoffWakeUp = nil }
                return state.backoffWakeUp
            }
            wakeUp?.resume()
            group.cancelAll()
        }
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

import KeylakeFaultProxy
import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An echo server on loopback, on a port chosen at run time.
struct EchoServer {
    let channel: any Channel
    var port: Int { self.channel.localAddress!.port! }

    /// An echo server; with `closeAfterReply` it answers the first read and closes the connection.
    static func start(closeAfterReply: Bool = false) async throws -> EchoServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(EchoHandler(closeAfterReply: closeAfterReply))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return EchoServer(channel: channel)
    }

    func stop() async {
        try? await self.channel.close()
    }
}

private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let closeAfterReply: Bool

    init(closeAfterReply: Bool) { self.closeAfterReply = closeAfterReply }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        if self.closeAfterReply { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// What a test client has received, shared between its handler and the test.
final class Inbox: Sendable {
    struct Contents {
        var bytes: [UInt8] = []
        var count = 0
        var reads = 0
        var closed = false
        var error: (any Error)?
        /// When the last bytes and the close arrived, taken on the event loop: a test task may
        /// resume much later on a loaded machine, so timings are measured from these.
        var lastReadAt: ContinuousClock.Instant?
        var closedAt: ContinuousClock.Instant?
        /// When the last write left for the socket, also on the event loop.
        var lastWriteAt: ContinuousClock.Instant?
    }

    let contents = Mutex(Contents())

    var snapshot: (bytes: [UInt8], reads: Int, closed: Bool, error: (any Error)?) {
        self.contents.withLock { ($0.bytes, $0.reads, $0.closed, $0.error) }
    }
}

private final class InboxHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    let inbox: Inbox

    init(inbox: Inbox) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = Self.unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        self.inbox.contents.withLock {
            $0.bytes += bytes
            $0.count += bytes.count
            $0.reads += 1
            $0.lastReadAt = .now
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.inbox.contents.withLock {
            $0.closed = true
            $0.closedAt = .now
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.inbox.contents.withLock { $0.lastWriteAt = .now }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.inbox.contents.withLock { if $0.error == nil { $0.error = error } }
        context.close(promise: nil)
    }
}

/// A TCP client that records everything it receives.
struct TestClient {
    let channel: any Channel
    let inbox: Inbox

    static func connect(port: Int) async throws -> TestClient {
        let inbox = Inbox()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(60))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(InboxHandler(inbox: inbox)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return TestClient(channel: channel, inbox: inbox)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await self.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Waits until `count` bytes arrived (or the deadline passes) and returns what arrived.
    @discardableResult
    func receive(_ count: Int, within timeout: Duration = .seconds(60)) async throws -> [UInt8] {
        try await waitUntil(within: timeout) { self.inbox.contents.withLock { $0.count >= count || $0.closed } }
        return self.inbox.snapshot.bytes
    }

    /// Sends `bytes`, waits until `total` bytes have arrived in all, and returns the time from the
    /// write to the last read, both taken on the event loop (not when the test task resumes,
    /// which on a loaded machine can be much later).
    func roundTrip(_ bytes: [UInt8], total: Int) async throws -> Duration {
        try await self.send(bytes)
        try await self.receive(total)
        return try self.inbox.contents.withLock { timing in
            guard let written = timing.lastWriteAt, let read = timing.lastReadAt else { throw TimedOut() }
            return read - written
        }
    }

    func close() async {
        try? await self.channel.close()
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String { "condition not met in time" }
}

/// Polls `condition` every 5 ms until it holds; throws ``TimedOut`` after `timeout` (by default
/// long enough that only a hang, not a loaded machine, runs it out).
func waitUntil(within timeout: Duration = .seconds(60), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut() }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Deterministic test bytes.
func payload(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
}

/// A port nothing listens on: bound, then closed.
func unusedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return port
}

/// Runs `body` with an echo server and a started proxy in front of it; shuts both down after.
func withEchoProxy(
    settings: FaultProxySettings = FaultProxySettings(), closeAfterReply: Bool = false,
    _ body: (FaultProxy, Int) async throws -> Void
) async throws {
    let echo = try await EchoServer.start(closeAfterReply: closeAfterReply)
    let logger = quietLogger()
    let proxy = FaultProxy(
        configuration: .init(upstreamHost: "127.0.0.1", upstreamPort: echo.port, settings: settings, logger: logger))
    let port = try await proxy.start()
    do {
        try await body(proxy, port)
    } catch {
        await proxy.shutdown()
        await echo.stop()
        throw error
    }
    await proxy.shutdown()
    await echo.stop()
}

/// A logger for the proxy under test that prints errors only (the unreachable-upstream warnings
/// are expected).
func quietLogger() -> Logger {
    var logger = Logger(label: "test.proxy")
    logger.logLevel = .error
    return logger
}

/// Whether `error` is a connection reset.
func isConnectionReset(_ error: (any Error)?) -> Bool {
    guard let error = error as? IOError else { return false }
    return error.errnoCode == ECONNRESET
}

import GRPCCore
import NIOCore
import Synchronization

/// One established client connection: the channel and a way to reach its handler from any thread.
final class ClientConnection: Sendable {
    let channel: any Channel
    /// Completes when the connection stops taking new calls.
    let unusable: EventLoopFuture<Void>
    let remotePeer: String
    let localPeer: String
    private let handler: NIOLoopBound<ClientConnectionHandler>

    /// Wraps an established channel whose pipeline ends in a ``ClientConnectionHandler``.
    static func make(channel: any Channel, unusable: EventLoopFuture<Void>) async throws -> ClientConnection {
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self),
                eventLoop: channel.eventLoop)
        }.get()
        return ClientConnection(channel: channel, unusable: unusable, handler: handler)
    }

    private init(channel: any Channel, unusable: EventLoopFuture<Void>, handler: NIOLoopBound<ClientConnectionHandler>) {
        self.channel = channel
        self.unusable = unusable
        self.remotePeer = channel.remoteAddress.map { "\($0)" } ?? "unknown"
        self.localPeer = channel.localAddress.map { "\($0)" } ?? "unknown"
        self.handler = handler
    }

    /// Runs `body` with the handler on the connection's event loop. Calls from one task run in order.
    func onHandler(_ body: @escaping @Sendable (ClientConnectionHandler) -> Void) {
        let handler = self.handler
        if self.channel.eventLoop.inEventLoop {
            body(handler.value)
        } else {
            self.channel.eventLoop.execute { body(handler.value) }
        }
    }

    func register(localID: Int, continuation: ClientConnectionHandler.Continuation) {
        self.onHandler { $0.register(localID: localID, continuation: continuation) }
    }

    func release(localID: Int) {
        self.onHandler { $0.release(localID: localID) }
    }

    /// Sends GOAWAY-like intent: closes the connection once its calls are done.
    func beginGracefulShutdown() {
        self.channel.close(mode: .all, promise: nil)
    }
}

/// The outbound side of one client call.
///
/// Request headers are held back until the first message or the half-close, so a unary call's
/// HEADERS and MESSAGE leave in one event-loop hop.
final class ClientStreamWriter: ClosableRPCWriterProtocol, Sendable {
    typealias Element = RPCRequestPart<TransportBytes>

    let connection: ClientConnection
    let localID: Int
    let method: String
    let timeout: Duration?
    let deadline: ContinuousClock.Instant?
    private let heldMetadata = Mutex<Metadata?>(nil)

    init(connection: ClientConnection, localID: Int, method: String, timeout: Duration?, deadline: ContinuousClock.Instant? = nil) {
        self.connection = connection
        self.localID = localID
        self.method = method
        self.timeout = timeout
        self.deadline = deadline
    }

    func write(_ element: Element) async throws {
        self.send(CollectionOfOne(element), halfClose: false)
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        self.send(elements, halfClose: false)
    }

    func finish() async {
        self.send(EmptyCollection(), halfClose: true)
    }

    func finish(throwing error: any Error) async {
        self.heldMetadata.withLock { $0 = nil }
        self.connection.release(localID: self.localID)
    }

    private func send(_ elements: some Sequence<Element>, halfClose: Bool) {
        var headers: Metadata?
        var messages: [TransportBytes] = []
        self.heldMetadata.withLock { held in
            for element in elements {
                switch element {
                case .metadata(let metadata): held = metadata
                case .message(let bytes): messages.append(bytes)
                }
            }
            if !messages.isEmpty || halfClose {
                headers = held
                held = nil
            }
        }
        guard headers != nil || !messages.isEmpty || halfClose else { return }
        let (localID, method, timeout, deadline) = (self.localID, self.method, self.timeout, self.deadline)
        let (headersToSend, messagesToSend) = (headers, messages)
        self.connection.onHandler { handler in
            if let headersToSend {
                handler.sendHeaders(localID: localID, method: method, timeout: timeout, deadline: deadline, metadata: headersToSend)
            }
            for message in messagesToSend { handler.sendMessage(localID: localID, message) }
            if halfClose { handler.halfClose(localID: localID) }
        }
    }
}

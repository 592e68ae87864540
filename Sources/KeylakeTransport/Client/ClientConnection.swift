import GRPCCore
import NIOCore

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
struct ClientStreamWriter: ClosableRPCWriterProtocol {
    typealias Element = RPCRequestPart<TransportBytes>

    let connection: ClientConnection
    let localID: Int
    let method: String
    let timeout: Duration?

    func write(_ element: Element) async throws {
        let (localID, method, timeout) = (self.localID, self.method, self.timeout)
        switch element {
        case .metadata(let metadata):
            self.connection.onHandler {
                $0.sendHeaders(localID: localID, method: method, timeout: timeout, metadata: metadata)
            }
        case .message(let bytes):
            self.connection.onHandler { $0.sendMessage(localID: localID, bytes) }
        }
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { try await self.write(element) }
    }

    func finish() async {
        let localID = self.localID
        self.connection.onHandler { $0.halfClose(localID: localID) }
    }

    func finish(throwing error: any Error) async {
        self.connection.release(localID: self.localID)
    }
}

import KeylakeProto
import NIOCore
import NIOPosix
import NIOSSL

@testable import KeylakeTransport

/// Runs `body` with the port of a server that completes TLS, sends its HELLO on every
/// connection and then reads and ignores everything: a server that hung after the handshake.
///
/// Plain channel handlers, so a connection accepted while the test winds down (a client
/// reconnecting) needs no task to consume it.
func withSilentServer<T>(pki: TestPKI, _ body: (Int) async throws -> T) async throws -> T {
    let sslContext = try NIOSSLContext(configuration: try pki.files("kmsd").serverConfiguration())
    let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                try channel.pipeline.syncOperations.addHandler(SilentServerHandler())
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    defer { listener.close(promise: nil) }
    return try await body(listener.localAddress!.port!)
}

/// Sends the server's HELLO when a connection becomes active (NIOSSL holds it until the
/// handshake completes), then swallows every byte.
private final class SilentServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        var hello = Keylake_Transport_V1_Hello()
        hello.version = WireProtocol.version
        var buffer = context.channel.allocator.buffer(capacity: 64)
        FrameEncoder.encode(type: .hello, streamID: 0, prefix: WireProtocol.helloMagic, message: hello, into: &buffer)
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

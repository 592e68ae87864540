import Foundation
import GRPCCore
import KeylakeProto
import NIOCore
import NIOPosix
import NIOSSL
import SwiftProtobuf
import Testing

@testable import KeylakeTransport

/// The client's keepalive against a server that completes HELLO and then goes silent (a hung
/// process or a black-holed link): the call must fail with UNAVAILABLE instead of hanging.
@Suite("Client keepalive", .timeLimit(.minutes(1)))
struct KeepaliveTests {
    @Test("a silent server is detected by keepalive and the call fails with UNAVAILABLE")
    func silentServer() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let sslContext = try NIOSSLContext(configuration: try pki.files("kmsd").serverConfiguration())
        // The silent server: answers HELLO on every connection, then reads and ignores
        // everything. Plain channel handlers, so a connection accepted while the test winds down
        // (a client reconnecting) needs no task to consume it.
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    try channel.pipeline.syncOperations.addHandler(SilentServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { listener.close(promise: nil) }
        let port = listener.localAddress!.port!
        var settings = ClientSettings()
        settings.keepaliveInterval = .milliseconds(200)
        settings.keepaliveTimeout = .milliseconds(200)
        settings.backoffInitial = .seconds(5)  // no reconnect during the test

        let clock = ContinuousClock()
        let started = clock.now
        try await withTestClient(port: port, files: try pki.files("app"), settings: settings) { diagnostics, _ in
            let error = await #expect(throws: RPCError.self) {
                _ = try await diagnostics.echo(.with { $0.payload = Data("hello?".utf8) })
            }
            #expect(error?.code == .unavailable)
        }
        #expect(clock.now - started < .seconds(15))
    }
}

/// Sends the server's HELLO when a connection becomes active (NIOSSL holds it until the
/// handshake completes), then swallows every byte: a server that hung after the handshake.
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

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
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let port = listener.channel.localAddress!.port!
        var settings = ClientSettings()
        settings.keepaliveInterval = .milliseconds(200)
        settings.keepaliveTimeout = .milliseconds(200)
        settings.backoffInitial = .seconds(5)  // no reconnect during the test

        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                // The silent server: answers HELLO, then reads and ignores everything. It is
                // cancelled when the test is done, so its own errors do not matter.
                try? await listener.executeThenClose { connections in
                    for try await connection in connections {
                        try await connection.executeThenClose { inbound, outbound in
                            var hello = Keylake_Transport_V1_Hello()
                            hello.version = WireProtocol.version
                            var buffer = ByteBuffer()
                            FrameEncoder.encode(type: .hello, streamID: 0, prefix: WireProtocol.helloMagic, message: hello, into: &buffer)
                            try await outbound.write(buffer)
                            for try await _ in inbound {}
                        }
                        return
                    }
                }
            }
            let clock = ContinuousClock()
            let started = clock.now
            try await withTestClient(port: port, files: try pki.files("app"), settings: settings) { diagnostics, _ in
                let error = await #expect(throws: RPCError.self) {
                    _ = try await diagnostics.echo(.with { $0.payload = Data("hello?".utf8) })
                }
                #expect(error?.code == .unavailable)
            }
            #expect(clock.now - started < .seconds(15))
            group.cancelAll()
        }
    }
}

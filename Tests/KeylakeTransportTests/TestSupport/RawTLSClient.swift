import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SwiftProtobuf
import Synchronization

@testable import KeylakeTransport

/// Frames received so far, shared between the reading task and the test.
final class FrameLog: Sendable {
    private let storage = Mutex<[Frame]>([])
    func append(_ frame: Frame) { self.storage.withLock { $0.append(frame) } }
    var frames: [Frame] { self.storage.withLock { $0 } }
}

/// A bare TLS client that writes whatever bytes a test wants, for protocol-abuse tests.
struct RawTLSClient {
    /// What the server sent before it closed the connection (or before `timeout`).
    struct Outcome {
        var frames: [Frame]
        var closedByServer: Bool
        var elapsed: Duration
        var goAway: Keylake_Transport_V1_GoAway? {
            self.frames.first(where: { $0.type == .goAway }).flatMap {
                try? Keylake_Transport_V1_GoAway(serializedBytes: Array($0.payload.readableBytesView))
            }
        }
    }

    /// Connects with `files`, sends `bytes`, then reads until the server closes, `done` says the
    /// frames so far are enough, or `timeout` passes (by default long enough that a server that
    /// closes or answers does so within it however loaded the machine).
    static func exchange(
        port: Int, files: TLSFiles, configure: (inout TLSConfiguration) -> Void = { _ in },
        send bytes: [UInt8], timeout: Duration = .seconds(60),
        until done: @escaping @Sendable ([Frame]) -> Bool = { _ in false }
    ) async throws -> Outcome {
        var tls = try files.clientConfiguration()
        configure(&tls)
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let clock = ContinuousClock()
        let start = clock.now
        return try await channel.executeThenClose { inbound, outbound in
            // The server may already have closed the connection (a refused connection): then the
            // write fails and what matters is what was read.
            if !bytes.isEmpty { try? await outbound.write(ByteBuffer(bytes: bytes)) }
            let received = FrameLog()
            let closed = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    var accumulated = ByteBuffer()
                    var decoder = FrameDecoder(maxFrameSize: 1 << 20)
                    do {
                        for try await var chunk in inbound {
                            accumulated.writeBuffer(&chunk)
                            while let frame = try decoder.decode(buffer: &accumulated) { received.append(frame) }
                            if done(received.frames) { return false }
                        }
                    } catch {}
                    return !Task.isCancelled
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return false
                }
                let first = await group.next()!
                group.cancelAll()
                return first
            }
            let frames = received.frames
            return Outcome(frames: frames, closedByServer: closed, elapsed: clock.now - start)
        }
    }

    /// A valid client HELLO frame.
    static func hello(version: UInt32 = WireProtocol.version) -> [UInt8] {
        var hello = Keylake_Transport_V1_Hello()
        hello.version = version
        var buffer = ByteBuffer()
        FrameEncoder.encode(type: .hello, streamID: 0, prefix: WireProtocol.helloMagic, message: hello, into: &buffer)
        return Array(buffer.readableBytesView)
    }
}

import Foundation
import GRPCCore
import KeylakeProto
import NIOCore
import SwiftProtobuf
import Testing

@testable import KeylakeTransport

/// Limits and timers of the server transport, over real sockets.
@Suite("Transport limits and timers", .timeLimit(.minutes(5)))
final class TransportLimitsTests: Sendable {
    let pki: TestPKI
    let log = HandlerLog()

    init() throws {
        self.pki = try TestPKI()
    }

    deinit { self.pki.remove() }

    var services: [any RegistrableRPCService] { [ScriptedDiagnostics(log: self.log)] }

    @Test("a TCP peer that never starts TLS is disconnected after the handshake timeout")
    func handshakeTimeout() async throws {
        var limits = ServerLimits()
        limits.tlsHandshakeTimeout = .milliseconds(300)
        try await withTestServer(pki: pki, limits: limits, services: services) { port, _ in
            // A server ignoring the setting would hold every peer for the default 10 s. The fastest
            // of up to three peers decides: a loaded machine can stall one or two.
            var closes: [Duration] = []
            for _ in 0..<3 {
                let elapsed = try await RawTCPClient.timeUntilClosed(port: port, timeout: .seconds(60))
                #expect(elapsed != nil, "the silent TCP peer was never disconnected")
                guard let elapsed else { break }
                closes.append(elapsed)
                if elapsed < .seconds(9) { break }
            }
            #expect(closes.min().map { $0 < .seconds(9) } == true, "closed after \(closes)")
        }
    }

    @Test("an idle connection gets GOAWAY IDLE_TIMEOUT and is closed")
    func idleTimeout() async throws {
        var limits = ServerLimits()
        limits.idleTimeout = .milliseconds(300)
        try await withTestServer(pki: pki, limits: limits, services: services) { port, _ in
            let outcome = try await RawTLSClient.exchange(
                port: port, files: try pki.files("app"), send: RawTLSClient.hello(), timeout: .seconds(60))
            #expect(outcome.frames.first?.type == .hello)
            #expect(outcome.goAway?.code == .idleTimeout)
            #expect(outcome.closedByServer)
        }
    }

    @Test("connections beyond maxConnections are closed at once; the admitted one keeps working")
    func maxConnections() async throws {
        var limits = ServerLimits()
        limits.maxConnections = 1
        let files = try pki.files("app")
        try await withTestServer(pki: pki, limits: limits, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                _ = try await diagnostics.echo(.with { $0.payload = Data("first".utf8) })
                let outcome = try await RawTLSClient.exchange(port: port, files: files, send: RawTLSClient.hello(), timeout: .seconds(60))
                #expect(outcome.closedByServer)
                #expect(outcome.frames.isEmpty, "the refused connection must get no HELLO")
                let response = try await diagnostics.echo(.with { $0.payload = Data("still".utf8) })
                #expect(response.payload == Data("still".utf8))
            }
        }
    }

    @Test("a PING is answered with an ACK carrying the same bytes")
    func ping() async throws {
        try await withTestServer(pki: pki, services: services) { port, _ in
            var bytes = RawTLSClient.hello()
            var buffer = ByteBuffer()
            FrameEncoder.encode(type: .ping, streamID: 0, payload: [1, 2, 3, 4, 5, 6, 7, 8], into: &buffer)
            bytes += Array(buffer.readableBytesView)
            let outcome = try await RawTLSClient.exchange(
                port: port, files: try pki.files("app"), send: bytes, timeout: .seconds(60),
                until: { frames in frames.contains { $0.type == .ping } })
            let pong = outcome.frames.first { $0.type == .ping }
            #expect(pong?.flags.contains(.ack) == true)
            #expect(pong.map { Array($0.payload.readableBytesView) } == [1, 2, 3, 4, 5, 6, 7, 8])
        }
    }

    @Test("oversized request headers get RESOURCE_EXHAUSTED and the connection survives")
    func headerLimit() async throws {
        var limits = ServerLimits()
        limits.maxHeaderBytes = 512
        let files = try pki.files("app")
        try await withTestServer(pki: pki, limits: limits, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                var metadata = Metadata()
                metadata.addString(String(repeating: "v", count: 2048), forKey: "x-big")
                let error = await #expect(throws: RPCError.self) {
                    _ = try await diagnostics.echo(.with { $0.payload = Data("x".utf8) }, metadata: metadata)
                }
                #expect(error?.code == .resourceExhausted)
                let response = try await diagnostics.echo(.with { $0.payload = Data("ok".utf8) })
                #expect(response.payload == Data("ok".utf8))
            }
        }
    }

    @Test("a call that sends more than maxInboundBytesPerStream gets RESOURCE_EXHAUSTED")
    func inboundBytesLimit() async throws {
        var limits = ServerLimits()
        limits.maxInboundBytesPerStream = 1024
        let files = try pki.files("app")
        try await withTestServer(pki: pki, limits: limits, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                let error = await #expect(throws: RPCError.self) {
                    _ = try await diagnostics.echo(.with { $0.payload = Data(repeating: 7, count: 4096) })
                }
                #expect(error?.code == .resourceExhausted)
                let response = try await diagnostics.echo(.with { $0.payload = Data("ok".utf8) })
                #expect(response.payload == Data("ok".utf8))
            }
        }
    }

    @Test("a request message larger than the server's frame limit fails alone with RESOURCE_EXHAUSTED; the connection survives")
    func requestLargerThanServerFrame() async throws {
        var limits = ServerLimits()
        limits.maxFrameSize = 16 * 1024
        let files = try pki.files("app")
        try await withTestServer(pki: pki, limits: limits, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                // Concurrent good calls on the same connection must not be hurt by the big one.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<20 {
                        group.addTask {
                            let payload = Data("call \(index)".utf8)
                            let response = try await diagnostics.echo(.with { $0.payload = payload })
                            #expect(response.payload == payload)
                        }
                    }
                    let error = await #expect(throws: RPCError.self) {
                        _ = try await diagnostics.echo(.with { $0.payload = Data(repeating: 7, count: 64 * 1024) })
                    }
                    #expect(error?.code == .resourceExhausted)
                    #expect(error?.message.contains("frame limit of 16384 bytes") == true)
                    try await group.waitForAll()
                }
                let response = try await diagnostics.echo(.with { $0.payload = Data("ok".utf8) })
                #expect(response.payload == Data("ok".utf8))
            }
        }
    }

    @Test("a response message larger than the client's frame limit ends that call with RESOURCE_EXHAUSTED; the connection survives")
    func responseLargerThanClientFrame() async throws {
        let settings = { var settings = ClientSettings(); settings.maxFrameSize = 16 * 1024; return settings }()
        let files = try pki.files("app")
        try await withTestServer(pki: pki, services: services) { port, _ in
            try await withTestClient(port: port, files: files, settings: settings) { diagnostics, _ in
                // The client's limit bounds what it receives only: the 64 KiB request reaches the
                // server (4 MiB limit), its 64 KiB echo cannot come back in one frame.
                let fits = Data(repeating: 1, count: 8 * 1024)
                #expect(try await diagnostics.echo(.with { $0.payload = fits }).payload == fits)
                let error = await #expect(throws: RPCError.self) {
                    _ = try await diagnostics.echo(.with { $0.payload = Data(repeating: 7, count: 64 * 1024) })
                }
                #expect(error?.message.contains("client's frame limit of 16384 bytes") == true)
                #expect(error?.code == .resourceExhausted)
                let response = try await diagnostics.echo(.with { $0.payload = Data("ok".utf8) })
                #expect(response.payload == Data("ok".utf8))
            }
        }
    }

    @Test("calls still running when the shutdown grace period ends are cancelled")
    func gracePeriodExpiry() async throws {
        var limits = ServerLimits()
        limits.shutdownGracePeriod = .milliseconds(300)
        let files = try pki.files("app")
        let log = self.log
        let clock = ContinuousClock()
        // The slow call would take ten minutes: a shutdown that waited for it would be far
        // beyond the bound below, which only a hang reaches.
        let shutdownStarted = try await withTestServer(pki: pki, limits: limits, services: services) { port, server in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                let slow = Task { try await diagnostics.echo(.with { $0.payload = Data("sleep:600000".utf8) }) }
                #expect(await eventually { log.started == 1 })
                let begun = clock.now
                server.beginGracefulShutdown()
                let error = await #expect(throws: RPCError.self) { _ = try await slow.value }
                #expect(error?.code == .unavailable)
                #expect(await eventually { log.cancelled == 1 }, "the handler was not cancelled")
                return begun
            }
        }
        #expect(clock.now - shutdownStarted < .seconds(60), "shutdown waited for the slow call")
    }
}

@Suite("Client lifecycle", .timeLimit(.minutes(5)))
struct ClientLifecycleTests {
    struct Oops: Error {}

    @Test("when the code using the client throws, the client shuts down instead of hanging")
    func throwingBody() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let log = HandlerLog()
        let files = try pki.files("app")
        let clock = ContinuousClock()
        try await withTestServer(pki: pki, services: [ScriptedDiagnostics(log: log)]) { port, _ in
            let started = clock.now
            await #expect(throws: RPCError.self) {
                try await withTestClient(port: port, files: files) { diagnostics, _ in
                    // The call's own error propagates out of the client's scope.
                    _ = try await diagnostics.echo(.with { $0.payload = Data("fail:NotFoundException".utf8) })
                }
            }
            await #expect(throws: Oops.self) {
                try await withTestClient(port: port, files: files) { diagnostics, _ in
                    _ = try await diagnostics.echo(.with { $0.payload = Data("ok".utf8) })
                    throw Oops()
                }
            }
            // A client that hung would never get here; the bound only catches a very slow shutdown.
            #expect(clock.now - started < .seconds(60))
        }
    }

    @Test("with waitForReady, a call made before the server is up waits for it instead of failing")
    func waitForReady() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let log = HandlerLog()
        let services: [any RegistrableRPCService] = [ScriptedDiagnostics(log: log)]
        let files = try pki.files("app")
        let port = try await withTestServer(pki: pki, services: services) { port, _ in port }
        var settings = ClientSettings()
        settings.waitForReady = true
        settings.backoffInitial = .milliseconds(50)
        settings.backoffMax = .milliseconds(200)
        try await withTestClient(port: port, files: files, settings: settings) { diagnostics, _ in
            let early = Task {
                // Not a deadline test: long enough that only a hang runs it out.
                try await diagnostics.echo(.with { $0.payload = Data("early".utf8) }, options: .timeout(.seconds(120)))
            }
            try await Task.sleep(for: .milliseconds(500))
            try await withTestServer(pki: pki, port: port, services: services) { _, _ in
                let response = try await early.value
                #expect(response.payload == Data("early".utf8))
            }
        }
    }
}

import Foundation
import GRPCCore
import GRPCProtobuf
import KeylakeProto
import NIOCore
import NIOSSL
import Synchronization
import SwiftProtobuf
import Testing

@testable import KeylakeTransport

/// The transport over real TLS on loopback: identity, rejection of bad peers, multiplexing,
/// deadlines, cancellation, shutdown and abuse.
@Suite("Transport over mutual TLS", .timeLimit(.minutes(5)))
final class TransportEndToEndTests: Sendable {
    let pki: TestPKI
    let log = HandlerLog()

    init() throws {
        self.pki = try TestPKI()
    }

    deinit { self.pki.remove() }

    var services: [any RegistrableRPCService] { [ScriptedDiagnostics(log: self.log)] }

    func echo(_ text: String) -> Keylake_Diagnostics_V1_EchoRequest {
        .with { $0.payload = Data(text.utf8) }
    }

    @Test("an mTLS call succeeds and the service sees the certificate's principal")
    func principalReachesService() async throws {
        let files = try pki.files("app")
        let response = try await withTestServer(pki: pki, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                var metadata = Metadata()
                metadata.addString("arn:aws:iam::111122223333:role/Someone", forKey: KeylakeMetadataKey.onBehalfOf)
                metadata.addString("req-123", forKey: KeylakeMetadataKey.requestID)
                return try await diagnostics.whoAmI(.init(), metadata: metadata)
            }
        }
        #expect(response.principal == "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole")
        #expect(response.onBehalfOf == "arn:aws:iam::111122223333:role/Someone")
        #expect(response.requestID == "req-123")
    }

    @Test("a domain error name crosses the wire in the status")
    func domainErrorName() async throws {
        let files = try pki.files("admin")
        try await withTestServer(pki: pki, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                let error = await #expect(throws: RPCError.self) {
                    _ = try await diagnostics.echo(self.echo("fail:DisabledException"))
                }
                #expect(error?.code == .failedPrecondition)
                #expect(error?.metadata[stringValues: KeylakeMetadataKey.errorName].first(where: { _ in true }) == "DisabledException")
            }
        }
    }

    func expectRejected(_ files: TLSFiles, configure: @escaping @Sendable (inout ClientSettings) -> Void = { _ in }) async throws {
        try await withTestServer(pki: pki, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                // The refusal is under test, not the deadline: long enough that a slow handshake on a
                // loaded machine still ends in UNAVAILABLE rather than DEADLINE_EXCEEDED.
                let error = await #expect(throws: RPCError.self) {
                    _ = try await diagnostics.whoAmI(.init(), options: .timeout(.seconds(60)))
                }
                #expect(error?.code == .unavailable)
            }
        }
    }

    @Test("a client without a certificate is rejected")
    func noClientCertificate() async throws {
        try await withTestServer(pki: pki, services: services) { port, _ in
            let outcome = try await RawTLSClient.exchange(
                port: port, files: try pki.files("app"),
                configure: { $0.certificateChain = []; $0.privateKey = nil },
                send: RawTLSClient.hello())
            #expect(outcome.closedByServer)
            #expect(outcome.frames.isEmpty, "server must not answer HELLO without a client certificate")
        }
    }

    @Test("a certificate from another CA is rejected")
    func otherCA() async throws {
        let now = Date()
        let stranger = try CertificateAuthorityFactory.make(now: now)
        let files = try pki.issue(name: "stranger", principal: "arn:aws:iam::111122223333:role/Admin", authority: stranger)
        try await expectRejected(files)
    }

    @Test("an expired certificate is rejected")
    func expired() async throws {
        let files = try pki.issue(
            name: "expired", principal: "arn:aws:iam::111122223333:role/Admin",
            notBefore: Date().addingTimeInterval(-7200), notAfter: Date().addingTimeInterval(-3600))
        try await expectRejected(files)
    }

    @Test("a certificate without a URI SAN principal is rejected")
    func noPrincipal() async throws {
        let files = try pki.issue(name: "anonymous", principal: nil)
        try await expectRejected(files)
    }

    @Test("a TLS 1.2 client is rejected")
    func tls12() async throws {
        _ = try await withTestServer(pki: pki, services: services) { port, _ in
            await #expect(throws: (any Error).self) {
                let outcome = try await RawTLSClient.exchange(
                    port: port, files: try pki.files("app"),
                    configure: { $0.minimumTLSVersion = .tlsv12; $0.maximumTLSVersion = .tlsv12 },
                    send: RawTLSClient.hello())
                // If the connect itself did not throw, the server must have said nothing and closed.
                if outcome.frames.isEmpty && outcome.closedByServer { throw NIOSSLError.handshakeFailed(.sslError([])) }
            }
        }
    }

    @Test("1,000 concurrent calls on one connection are all answered correctly")
    func thousandConcurrentCalls() async throws {
        let files = try pki.files("app")
        let mismatches = try await withTestServer(pki: pki, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    for index in 0..<1000 {
                        group.addTask {
                            let text = "call-\(index)-" + String(repeating: "x", count: index % 97)
                            let response = try await diagnostics.echo(self.echo(text))
                            return String(decoding: response.payload, as: UTF8.self) == text
                        }
                    }
                    var mismatches = 0
                    for try await ok in group where !ok { mismatches += 1 }
                    return mismatches
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test("deadline exceeded gives DEADLINE_EXCEEDED and the server stops the work")
    func deadline() async throws {
        let files = try pki.files("app")
        let log = self.log
        try await withTestServer(pki: pki, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                // The deadline must expire while the handler runs (its work would take ten minutes).
                // The connection is up first, so the deadline only has to cover the call reaching
                // the handler; when a loaded machine let it expire even before that, the call is
                // made again with a longer one.
                _ = try await diagnostics.echo(self.echo("warm up"))
                for timeout: Duration in [.seconds(5), .seconds(20), .seconds(60)] {
                    let call = Task {
                        try await diagnostics.echo(self.echo("sleep:600000"), options: .timeout(timeout))
                    }
                    let error = await #expect(throws: RPCError.self) { _ = try await call.value }
                    #expect(error?.code == .deadlineExceeded)
                    if log.started > 0 { break }
                }
                #expect(log.started > 0, "the handler never started")
                #expect(
                    await eventually { log.cancelled == log.started },
                    "the server handler was not cancelled (started \(log.started), cancelled \(log.cancelled))")
                #expect(log.completed == 0)
            }
        }
    }

    @Test("the server enforces a deadline the client does not: DEADLINE_EXCEEDED on time, the handler cancelled, the connection still serving")
    func serverSideDeadline() async throws {
        // A raw client sends HEADERS with timeout_micros and then only reads: nothing on its side
        // watches the deadline, so the answer has to come from the server's own timer.
        func bytes(timeoutMicros: UInt64) throws -> [UInt8] {
            var headers = Keylake_Transport_V1_RequestHeaders()
            headers.method = "/keylake.diagnostics.v1.Diagnostics/Echo"
            headers.timeoutMicros = timeoutMicros
            var buffer = ByteBuffer()
            FrameEncoder.encode(type: .headers, streamID: 1, message: headers, into: &buffer)
            let request: [UInt8] = try self.echo("sleep:600000").serializedBytes()
            FrameEncoder.encode(Frame(type: .message, flags: .endStream, streamID: 1, payload: ByteBuffer(bytes: request)), into: &buffer)
            return RawTLSClient.hello() + Array(buffer.readableBytesView)
        }
        // The deadline must expire while the handler runs (its work would take ten minutes): when
        // a loaded machine started the handler only after it, the next, longer one is tried.
        let attempts: [(UInt64, [UInt8])] = try ([1_500_000, 10_000_000, 30_000_000] as [UInt64]).map { try ($0, bytes(timeoutMicros: $0)) }
        let log = self.log
        let files = try pki.files("app")
        try await withTestServer(pki: pki, services: services) { port, _ in
            for (timeoutMicros, request) in attempts {
                let outcome = try await RawTLSClient.exchange(
                    port: port, files: files, send: request, timeout: .seconds(120),
                    until: { frames in frames.contains { $0.type == .status } })
                let statusFrame = try #require(outcome.frames.first { $0.type == .status && $0.streamID == 1 }, "no STATUS within 120 s")
                let status = try Keylake_Transport_V1_Status(serializedBytes: Array(statusFrame.payload.readableBytesView))
                #expect(status.code == UInt32(GRPCCore.Status.Code.deadlineExceeded.rawValue))
                // Not before the deadline; far before the handler's ten minutes of work.
                #expect(outcome.elapsed >= .microseconds(timeoutMicros))
                #expect(outcome.elapsed < .seconds(120))
                if log.started > 0 { break }
            }
            #expect(log.started > 0, "the handler never started")
            #expect(await eventually { log.cancelled == log.started }, "the handler was not cancelled (started \(log.started))")
            #expect(log.completed == 0)
            // The server keeps serving.
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                let response = try await diagnostics.echo(self.echo("after"))
                #expect(response.payload == Data("after".utf8))
            }
        }
    }

    @Test("hostile timeout_micros (the largest value, and 1 µs) neither crashes the server nor stalls its other calls", arguments: [UInt64.max, 1])
    func hostileTimeout(micros: UInt64) async throws {
        var headers = Keylake_Transport_V1_RequestHeaders()
        headers.method = "/keylake.diagnostics.v1.Diagnostics/Echo"
        headers.timeoutMicros = micros
        var buffer = ByteBuffer()
        FrameEncoder.encode(type: .headers, streamID: 1, message: headers, into: &buffer)
        let request: [UInt8] = try self.echo("quick").serializedBytes()
        FrameEncoder.encode(Frame(type: .message, flags: .endStream, streamID: 1, payload: ByteBuffer(bytes: request)), into: &buffer)
        let bytes = RawTLSClient.hello() + Array(buffer.readableBytesView)
        let files = try pki.files("app")
        try await withTestServer(pki: pki, services: services) { port, _ in
            let outcome = try await RawTLSClient.exchange(
                port: port, files: files, send: bytes, timeout: .seconds(120), until: { frames in frames.contains { $0.type == .status } })
            let statusFrame = try #require(outcome.frames.first { $0.type == .status && $0.streamID == 1 }, "no STATUS within 120 s")
            let status = try Keylake_Transport_V1_Status(serializedBytes: Array(statusFrame.payload.readableBytesView))
            // A practically infinite deadline lets the call finish; 1 µs ends it at once.
            let expected: GRPCCore.Status.Code = micros == 1 ? .deadlineExceeded : .ok
            #expect(status.code == UInt32(expected.rawValue))
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                let response = try await diagnostics.echo(self.echo("after"))
                #expect(response.payload == Data("after".utf8))
            }
        }
    }

    @Test("client cancellation reaches the server")
    func cancellation() async throws {
        let files = try pki.files("app")
        let log = self.log
        try await withTestServer(pki: pki, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                // Ten minutes of work: a handler that was not cancelled cannot finish in time to
                // look as if it had been, however slowly the cancellation travels.
                let call = Task { try await diagnostics.echo(self.echo("sleep:600000")) }
                #expect(await eventually { log.started == 1 })
                call.cancel()
                _ = await call.result
                #expect(await eventually { log.cancelled == 1 }, "the server handler was not cancelled")
                // The connection still works afterwards.
                let response = try await diagnostics.echo(self.echo("after"))
                #expect(response.payload == Data("after".utf8))
            }
        }
    }

    @Test("graceful shutdown lets in-flight calls finish and refuses new ones")
    func gracefulShutdown() async throws {
        let files = try pki.files("app")
        let log = self.log
        try await withTestServer(pki: pki, services: services) { port, server in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                async let slow = diagnostics.echo(self.echo("sleep:800"))
                #expect(await eventually { log.started == 1 })
                server.beginGracefulShutdown()
                try await Task.sleep(for: .milliseconds(100))
                // The refusal is under test, not the deadline: long enough for a loaded machine.
                let refused = await #expect(throws: RPCError.self) {
                    _ = try await diagnostics.echo(self.echo("late"), options: .timeout(.seconds(60)))
                }
                #expect(refused?.code == .unavailable)
                let response = try await slow
                #expect(response.payload == Data("sleep:800".utf8))
                #expect(log.completed == 1)
            }
        }
    }

    @Test("a client that opens TLS and sends nothing is disconnected after the HELLO timeout")
    func silentClient() async throws {
        var limits = ServerLimits()
        limits.helloTimeout = .milliseconds(300)
        try await withTestServer(pki: pki, limits: limits, services: services) { port, _ in
            // A server ignoring the setting would hold every client for the default 10 s. The
            // fastest of up to three clients decides: a loaded machine can stall one or two.
            var closes: [Duration] = []
            for _ in 0..<3 {
                let outcome = try await RawTLSClient.exchange(port: port, files: try pki.files("app"), send: [], timeout: .seconds(60))
                #expect(outcome.closedByServer)
                #expect(outcome.goAway?.code == .helloTimeout)
                guard outcome.closedByServer else { break }
                closes.append(outcome.elapsed)
                if outcome.elapsed < .seconds(9) { break }
            }
            #expect(closes.min().map { $0 < .seconds(9) } == true, "closed after \(closes)")
        }
    }

    @Test("a protocol-violating connection is closed while a well-behaved one keeps working")
    func violatorIsolated() async throws {
        let files = try pki.files("app")
        try await withTestServer(pki: pki, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                _ = try await diagnostics.echo(self.echo("before"))
                let abuses: [[UInt8]] = [
                    RawTLSClient.hello() + [0, 0, 0, 0, 0x7F, 0, 0, 0, 0, 1],  // unknown frame type
                    Array("GET / HTTP/1.1\r\n\r\n".utf8),  // not our protocol at all
                    RawTLSClient.hello() + [0xFF, 0xFF, 0xFF, 0xFF, 0x03, 0, 0, 0, 0, 1],  // 4 GiB frame
                    RawTLSClient.hello() + [0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0xFF, 0xFF],  // garbage HEADERS
                ]
                for abuse in abuses {
                    let outcome = try await RawTLSClient.exchange(port: port, files: files, send: abuse)
                    #expect(outcome.closedByServer)
                    #expect(outcome.goAway != nil && outcome.goAway?.code != .noError, "expected GOAWAY with an error code")
                    let response = try await diagnostics.echo(self.echo("still here"))
                    #expect(response.payload == Data("still here".utf8))
                }
            }
        }
    }

    @Test("a version mismatch gets GOAWAY VERSION_MISMATCH")
    func versionMismatch() async throws {
        try await withTestServer(pki: pki, services: services) { port, _ in
            let outcome = try await RawTLSClient.exchange(port: port, files: try pki.files("app"), send: RawTLSClient.hello(version: 2))
            #expect(outcome.goAway?.code == .versionMismatch)
            #expect(outcome.closedByServer)
        }
    }

    @Test("an unknown method gives UNIMPLEMENTED")
    func unknownMethod() async throws {
        let files = try pki.files("app")
        try await withTestServer(pki: pki, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { _, client in
                let error = await #expect(throws: RPCError.self) {
                    try await client.unary(
                        request: ClientRequest(message: Keylake_Diagnostics_V1_EchoRequest()),
                        descriptor: MethodDescriptor(fullyQualifiedService: "keylake.nothing.v1.Nothing", method: "Missing"),
                        serializer: ProtobufSerializer<Keylake_Diagnostics_V1_EchoRequest>(),
                        deserializer: ProtobufDeserializer<Keylake_Diagnostics_V1_EchoResponse>(),
                        options: .defaults
                    ) { try $0.message }
                }
                #expect(error?.code == .unimplemented)
            }
        }
    }

    @Test("calls beyond maxConcurrentStreams get RESOURCE_EXHAUSTED")
    func streamLimit() async throws {
        var limits = ServerLimits()
        limits.maxConcurrentStreams = 2
        let files = try pki.files("app")
        let log = self.log
        try await withTestServer(pki: pki, limits: limits, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                // Two calls that stay open until cancelled, however slow the machine is.
                let first = Task { try await diagnostics.echo(self.echo("sleep:600000")) }
                let second = Task { try await diagnostics.echo(self.echo("sleep:600000")) }
                #expect(await eventually(timeout: .seconds(60)) { log.started == 2 })
                let error = await #expect(throws: RPCError.self) {
                    _ = try await diagnostics.echo(self.echo("third"))
                }
                #expect(error?.code == .resourceExhausted)
                first.cancel()
                second.cancel()
                _ = await (first.result, second.result)
                #expect(await eventually(timeout: .seconds(60)) { log.cancelled == 2 })
            }
        }
    }

    @Test("losing the server gives UNAVAILABLE, and the client reconnects when it returns")
    func reconnect() async throws {
        let files = try pki.files("app")
        var settings = ClientSettings()
        settings.backoffInitial = .milliseconds(50)
        settings.backoffMax = .milliseconds(200)
        let port = try await withTestServer(pki: pki, services: services) { port, _ in port }
        let pki = self.pki
        let services = self.services
        try await withTestClient(port: port, files: files, settings: settings) { diagnostics, _ in
            // Nothing listens: calls fail fast and retryably (the deadline is only there against a
            // hang: a loaded machine must not turn UNAVAILABLE into DEADLINE_EXCEEDED).
            let error = await #expect(throws: RPCError.self) {
                _ = try await diagnostics.echo(.with { $0.payload = Data("x".utf8) }, options: .timeout(.seconds(60)))
            }
            #expect(error?.code == .unavailable)
            // A server comes back on the same port: calls succeed again without a new client
            // (retried for up to a minute: reconnecting and the handshake can be slow under load).
            try await withTestServer(pki: pki, port: port, services: services) { _, _ in
                var succeeded = false
                let deadline = ContinuousClock.now + .seconds(60)
                while !succeeded, ContinuousClock.now < deadline {
                    if (try? await diagnostics.echo(.with { $0.payload = Data("y".utf8) })) != nil {
                        succeeded = true
                    } else {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                #expect(succeeded)
            }
        }
    }
}

enum CertificateAuthorityFactory {
    static func make(now: Date) throws -> KeylakeDevPKI.CertificateAuthority {
        try .generate(commonName: "Stranger CA", notBefore: now.addingTimeInterval(-300), notAfter: now.addingTimeInterval(3600))
    }
}

import KeylakeDevPKI

import Foundation
import GRPCCore
import KeylakeProto
import NIOCore
import NIOPosix
import NIOSSL
import SwiftProtobuf
import Testing

@testable import KeylakeTransport

/// `TransportDeadline`: deadlines the client transport enforces itself (no `CallOptions.timeout`,
/// so nothing in GRPCCore watches these calls).
@Suite("Transport deadlines")
final class TransportDeadlineTests: Sendable {
    let pki: TestPKI
    let log = HandlerLog()

    init() throws { self.pki = try TestPKI() }
    deinit { self.pki.remove() }

    var services: [any RegistrableRPCService] { [ScriptedDiagnostics(log: self.log)] }

    static func echo(_ text: String) -> Keylake_Diagnostics_V1_EchoRequest {
        .with { $0.payload = Data(text.utf8) }
    }

    @Test("the deadline reaches the server: the handler is cancelled and the caller gets DEADLINE_EXCEEDED; calls in time are unaffected")
    func serverWork() async throws {
        let files = try pki.files("app")
        let log = self.log
        try await withTestServer(pki: pki, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                // The connection is up before the timed call, so its deadline only has to cover
                // the call reaching the handler. On a loaded machine even that can take longer
                // than a deadline: a call that ended before its handler started proves nothing,
                // so it is tried again with a longer one (3 s, 15 s, 60 s); only a hang fails.
                _ = try await diagnostics.echo(Self.echo("warm up"))
                var reachedHandler = false
                for timeout in [Duration.seconds(3), .seconds(15), .seconds(60)] where !reachedHandler {
                    let startedBefore = log.started
                    let error = await #expect(throws: RPCError.self) {
                        try await TransportDeadline.withTimeout(timeout) {
                            try await diagnostics.echo(Self.echo("sleep:600000"))
                        }
                    }
                    #expect(error?.code == .deadlineExceeded)
                    reachedHandler = log.started > startedBefore
                }
                try #require(reachedHandler, "the handler never started within a 60 s deadline")
                // The server cancels the handler that started (earlier attempts never reached one).
                #expect(await eventually(timeout: .seconds(60)) { log.cancelled == log.started }, "the server handler was not cancelled")
                #expect(log.completed == 0)
                let response = try await TransportDeadline.withTimeout(.seconds(60)) {
                    try await diagnostics.echo(Self.echo("in time"))
                }
                #expect(response.payload == Data("in time".utf8))
            }
        }
    }

    @Test("the client's own timer ends the call when the server never answers")
    func silentServer() async throws {
        var settings = ClientSettings()
        settings.keepaliveInterval = .seconds(120)  // keepalive would end the call too (UNAVAILABLE)
        settings.backoffInitial = .seconds(5)
        let clock = ContinuousClock()
        try await withSilentServer(pki: pki) { port in
            try await withTestClient(port: port, files: try pki.files("app"), settings: settings) { diagnostics, _ in
                let started = clock.now
                let error = await #expect(throws: RPCError.self) {
                    _ = try await TransportDeadline.withTimeout(.milliseconds(1_200)) {
                        try await diagnostics.echo(Self.echo("hello?"))
                    }
                }
                let elapsed = clock.now - started
                #expect(error?.code == .deadlineExceeded)
                #expect(elapsed >= .milliseconds(1_200))
                #expect(elapsed < .seconds(60), "the silent server held the call for \(elapsed)")
            }
        }
    }

    @Test("waiting for a connection (waitForReady, nothing listening) ends at the deadline")
    func waitingForConnection() async throws {
        // A port that was free a moment ago and has nothing listening now.
        let port = try await withTestServer(pki: pki, services: services) { port, _ in port }
        var settings = ClientSettings()
        settings.waitForReady = true
        settings.backoffInitial = .milliseconds(50)
        settings.backoffMax = .milliseconds(200)
        let clock = ContinuousClock()
        try await withTestClient(port: port, files: try pki.files("app"), settings: settings) { diagnostics, _ in
            let started = clock.now
            // Raced against 60 s: a wait the deadline does not bound would otherwise never end.
            let outcome = await withTaskGroup(of: RPCError??.self) { group in
                group.addTask {
                    do {
                        _ = try await TransportDeadline.withTimeout(.seconds(10)) { try await diagnostics.echo(Self.echo("anyone?")) }
                        return .some(nil)  // succeeded: no server should have answered
                    } catch {
                        return .some(error as? RPCError)
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(60))
                    return nil
                }
                let first = await group.next()!
                group.cancelAll()
                return first
            }
            let elapsed = clock.now - started
            let failure = try #require(outcome, "the call was still waiting for a connection 60 s later")
            let error = try #require(failure, "the call did not fail with an RPCError")
            #expect(error.code == .deadlineExceeded)
            // The message says why no connection came, not only that time ran out: the last failed
            // attempt's cause, even when the deadline finds the next attempt under way.
            #expect(error.message.contains("connection refused"), "\(error.message)")
            #expect(elapsed >= .seconds(10))
        }
    }

    @Test("an expired deadline fails at once; nested scopes keep the earlier deadline")
    func scopes() async throws {
        let files = try pki.files("app")
        let log = self.log
        try await withTestServer(pki: pki, services: services) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                // One call first, so the client is running before the body can end.
                _ = try await diagnostics.echo(Self.echo("first"))
                let before = log.started
                let error = await #expect(throws: RPCError.self) {
                    _ = try await TransportDeadline.withTimeout(.zero) { try await diagnostics.echo(Self.echo("late")) }
                }
                #expect(error?.code == .deadlineExceeded)
                #expect(log.started == before, "a call whose deadline had passed reached the server")
            }
        }
        // Bounds from instants taken around the scope, so a stalled machine cannot fail it.
        let before = ContinuousClock.now
        let (inner, nested, shorter) = await TransportDeadline.withTimeout(.seconds(60)) {
            let inner = TransportDeadline.current
            let nested = await TransportDeadline.withTimeout(.seconds(600)) { TransportDeadline.current }
            let shorter = await TransportDeadline.withTimeout(.milliseconds(10)) { TransportDeadline.current }
            return (inner, nested, shorter)
        }
        let after = ContinuousClock.now
        // Out-of-range timeouts neither trap nor mean "no deadline".
        let huge = await TransportDeadline.withTimeout(.seconds(Int64.max)) { TransportDeadline.current }
        #expect(try #require(huge) > ContinuousClock.now.advanced(by: .seconds(365 * 24 * 3600)))
        let negative = await TransportDeadline.withTimeout(.seconds(-5)) { TransportDeadline.current }
        #expect(try #require(negative) <= ContinuousClock.now)
        let innerDeadline = try #require(inner)
        #expect(innerDeadline >= before.advanced(by: .seconds(60)) && innerDeadline <= after.advanced(by: .seconds(60)))
        #expect(nested == inner, "a longer nested timeout must keep the enclosing deadline")
        #expect(try #require(shorter) < innerDeadline, "a shorter nested timeout must win")
        #expect(TransportDeadline.current == nil)
    }
}

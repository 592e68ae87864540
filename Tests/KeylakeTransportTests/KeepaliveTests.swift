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
@Suite("Client keepalive", .timeLimit(.minutes(3)))
struct KeepaliveTests {
    @Test("a silent server is detected by keepalive and the call fails with UNAVAILABLE")
    func silentServer() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        var settings = ClientSettings()
        settings.keepaliveInterval = .milliseconds(200)
        settings.keepaliveTimeout = .milliseconds(200)
        settings.backoffInitial = .seconds(5)  // no reconnect during the test

        let clock = ContinuousClock()
        let started = clock.now
        try await withSilentServer(pki: pki) { port in
            try await withTestClient(port: port, files: try pki.files("app"), settings: settings) { diagnostics, _ in
                let error = await #expect(throws: RPCError.self) {
                    _ = try await diagnostics.echo(.with { $0.payload = Data("hello?".utf8) })
                }
                #expect(error?.code == .unavailable)
            }
        }
        // With the default keepalive (a PING after 30 s, 10 s for the answer) it would take at least
        // 40 s: the bound tells the two apart with room for a loaded machine.
        #expect(clock.now - started < .seconds(30))
    }
}

import Foundation
import KeylakeProto
import SwiftProtobuf
import Testing

@testable import KeylakeTransport

#if canImport(Glibc)
import Glibc
#endif

/// The options the transport sets on its sockets, read back from the kernel with `getsockopt`
/// (not through NIO), on a live connection: TCP_NODELAY on both ends, and no option set at the
/// wrong level (TCP_NODELAY is 1 at IPPROTO_TCP; at SOL_SOCKET, 1 is SO_DEBUG, which needs
/// CAP_NET_ADMIN and broke every connection for ordinary users).
@Suite("Transport socket options")
final class SocketOptionTests: Sendable {
    let pki: TestPKI

    init() throws { self.pki = try TestPKI() }
    deinit { self.pki.remove() }

    /// The open TCP sockets of this process with their local and peer ports.
    struct OpenSocket {
        var descriptor: Int32
        var localPort: Int
        var peerPort: Int?
    }

    static func port(of address: sockaddr_storage) -> Int? {
        var address = address
        switch Int32(address.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        case AF_INET6:
            return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        default:
            return nil
        }
    }

    static func openTCPSockets() -> [OpenSocket] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { name -> OpenSocket? in
            guard let descriptor = Int32(name) else { return nil }
            var type: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &length) == 0, type == Int32(SOCK_STREAM.rawValue) else { return nil }
            var local = sockaddr_storage()
            var localLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let gotLocal = withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &localLength) }
            }
            guard gotLocal == 0, let localPort = Self.port(of: local) else { return nil }
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let gotPeer = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &peerLength) }
            }
            return OpenSocket(descriptor: descriptor, localPort: localPort, peerPort: gotPeer == 0 ? Self.port(of: peer) : nil)
        }
    }

    static func option(_ descriptor: Int32, level: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, level, name, &value, &length) == 0 ? value : nil
    }

    @Test("TCP_NODELAY is on for the server-accepted and the client socket; SO_DEBUG is off")
    func noDelay() async throws {
        let files = try pki.files("app")
        try await withTestServer(pki: pki, services: [ScriptedDiagnostics(log: HandlerLog())]) { port, _ in
            try await withTestClient(port: port, files: files) { diagnostics, _ in
                _ = try await diagnostics.echo(.with { $0.payload = Data("up".utf8) })
                let sockets = Self.openTCPSockets()
                // The client's socket: its peer is the server's port. The server's: local port is
                // the server's, with a peer (the listener has none).
                let client = try #require(sockets.first { $0.peerPort == port }, "no client socket to port \(port)")
                let accepted = try #require(
                    sockets.first { $0.localPort == port && $0.peerPort == client.localPort }, "no accepted socket on port \(port)")
                for (end, socket) in [("client", client), ("server", accepted)] {
                    #expect(Self.option(socket.descriptor, level: Int32(IPPROTO_TCP), TCP_NODELAY) == 1, "TCP_NODELAY off on the \(end) socket")
                    #expect(Self.option(socket.descriptor, level: SOL_SOCKET, SO_DEBUG) == 0, "SO_DEBUG set on the \(end) socket")
                }
            }
        }
    }
}

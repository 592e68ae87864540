import NIOCore
import NIOPosix

/// A plain TCP client that sends nothing, to test what the server does with silent peers.
enum RawTCPClient {
    /// Connects and waits until the server closes the connection; returns how long that took,
    /// or nil if it was still open after `timeout`.
    static func timeUntilClosed(port: Int, timeout: Duration) async throws -> Duration? {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        let clock = ContinuousClock()
        let start = clock.now
        let closed: Bool = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await channel.closeFuture.get()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next()!
            channel.close(promise: nil)
            group.cancelAll()
            return first
        }
        return closed ? clock.now - start : nil
    }
}

import Foundation
import Synchronization

/// A daemon started as a separate process, watched until it says it is ready.
///
/// Its standard output is read line by line (and echoed with a prefix when asked); its standard
/// error is inherited, so its logs appear as they are written.
public final class ChildDaemon: Sendable {
    /// The daemon's name, e.g. "kmsd".
    public let name: String
    private let process: Process
    /// Held open for the daemon's lifetime: when this process dies, the daemon reads end of file
    /// on its standard input and shuts down (`--exit-with-parent`).
    private let lifeline = Pipe()
    private final class State: Sendable {
        let mutex = Mutex<(address: String?, waiters: [CheckedContinuation<String, any Error>], exited: Int32?, buffer: String)>(
            (nil, [], nil, ""))
        func withLock<T>(_ body: (inout (address: String?, waiters: [CheckedContinuation<String, any Error>], exited: Int32?, buffer: String)) -> T) -> T {
            self.mutex.withLock { body(&$0) }
        }
    }
    private let state = State()

    /// Starts `executable` with `arguments`.
    ///
    /// - Parameter echo: prefix each output line with the daemon's name on this process's stdout.
    public init(name: String, executable: String, arguments: [String], echo: Bool) throws {
        self.name = name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = self.lifeline
        self.process = process
        let state = self.state
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            let lines: [String] = state.withLock { state in
                state.buffer += String(decoding: data, as: UTF8.self)
                var lines = state.buffer.components(separatedBy: "\n")
                state.buffer = lines.removeLast()
                return lines
            }
            for line in lines {
                if echo {
                    print("[\(name)] \(line)")
                    fflush(nil)
                }
                if let range = line.range(of: " ready on ") {
                    let address = String(line[range.upperBound...])
                    let waiters = state.withLock { state in
                        state.address = address
                        defer { state.waiters.removeAll() }
                        return state.waiters
                    }
                    for waiter in waiters { waiter.resume(returning: address) }
                }
            }
        }
        process.terminationHandler = { process in
            let waiters = state.withLock { state in
                state.exited = process.terminationStatus
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters {
                waiter.resume(throwing: CLIError("\(name) exited with status \(process.terminationStatus) before it was ready"))
            }
        }
        try process.run()
    }

    /// Process id of the daemon.
    public var pid: Int32 { self.process.processIdentifier }

    /// Exit status, once the process has ended.
    public var exitStatus: Int32? { self.state.withLock { $0.exited } }

    /// Waits until the daemon prints its ready line; returns the address it listens on.
    ///
    /// - Throws: when the daemon exits first or `timeout` passes (the daemon is then killed).
    public func waitUntilReady(timeout: Duration = .seconds(60)) async throws -> String {
        try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask {
                try await withCheckedThrowingContinuation { continuation in
                    let immediate: Result<String, any Error>? = self.state.withLock { state in
                        if let address = state.address { return .success(address) }
                        if let status = state.exited {
                            return .failure(CLIError("\(self.name) exited with status \(status) before it was ready"))
                        }
                        state.waiters.append(continuation)
                        return nil
                    }
                    if let immediate { continuation.resume(with: immediate) }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw CLIError("\(self.name) was not ready within \(timeout)")
            }
            defer { group.cancelAll() }
            do {
                return try await group.next()!
            } catch {
                self.kill()
                throw error
            }
        }
    }

    /// Asks the daemon to stop gracefully (SIGTERM).
    public func terminate() {
        if self.process.isRunning { self.process.terminate() }
    }

    /// Kills the daemon at once (SIGKILL).
    public func kill() {
        if self.process.isRunning { _ = Foundation.kill(self.process.processIdentifier, SIGKILL) }
    }

    /// Waits for the process to end, polling; returns its status, or nil after `timeout` or when
    /// the waiting task is cancelled.
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline, !Task.isCancelled {
            if let status = self.exitStatus { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return self.exitStatus
    }

    /// The path of the running executable, for starting daemons as `keylake daemon <kind>`.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

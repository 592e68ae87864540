import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the test harness itself (a process that did not start, print or stop in time),
/// carrying the transcript of the process concerned.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A process started by a test. Its standard output and error go to files in the test's
/// workspace, so they can be read at any time (also after the process and its children are
/// gone) and no pipe can fill up and block it.
final class Subprocess: Sendable {
    /// Short name for messages, e.g. "dev up".
    let name: String
    /// The command line, for messages.
    let commandLine: String
    private let process: Process
    private let outputPath: String
    private let errorPath: String

    /// Starts `executable` with `arguments`; `environment` is added to this process's environment.
    init(
        name: String, executable: String, arguments: [String], environment: [String: String] = [:],
        logDirectory: String
    ) throws {
        self.name = name
        self.commandLine = ([executable] + arguments).joined(separator: " ")
        let stem = "\(logDirectory)/\(name.replacingOccurrences(of: " ", with: "-"))-\(UUID().uuidString.prefix(8))"
        self.outputPath = stem + ".stdout"
        self.errorPath = stem + ".stderr"
        for path in [self.outputPath, self.errorPath] where !FileManager.default.createFile(atPath: path, contents: nil) {
            throw HarnessError("cannot create \(path)")
        }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: self.outputPath))
        let error = try FileHandle(forWritingTo: URL(fileURLWithPath: self.errorPath))
        defer {
            try? output.close()
            try? error.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = error
        self.process = process
        try process.run()
    }

    /// Process id.
    var pid: Int32 { self.process.processIdentifier }

    /// Whether the process has not ended yet.
    var isRunning: Bool { self.process.isRunning }

    /// How the process ended: its exit status, or 128 + the signal that killed it; nil while it runs.
    var exitStatus: Int32? {
        guard !self.process.isRunning else { return nil }
        switch self.process.terminationReason {
        case .exit: return self.process.terminationStatus
        case .uncaughtSignal: return 128 + self.process.terminationStatus
        @unknown default: return self.process.terminationStatus
        }
    }

    /// Everything written to standard output so far.
    var standardOutput: String { Self.read(self.outputPath) }

    /// Everything written to standard error so far.
    var standardError: String { Self.read(self.errorPath) }

    /// Command, status and both outputs, for failure messages.
    var transcript: String {
        """
        $ \(self.commandLine)
        [\(self.exitStatus.map { "exit status \($0)" } ?? "still running")]
        --- stdout
        \(self.standardOutput)
        --- stderr
        \(self.standardError)
        """
    }

    /// Waits until standard output contains `text`.
    ///
    /// - Throws: ``HarnessError`` with the transcript when the process ends first or `timeout` passes.
    func waitForOutput(containing text: String, timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while !self.standardOutput.contains(text) {
            if !self.isRunning {
                // Output written just before exiting is in the file by now.
                if self.standardOutput.contains(text) { return }
                throw HarnessError("\(self.name) ended before printing \"\(text)\"\n\(self.transcript)")
            }
            if clock.now >= deadline {
                throw HarnessError("\(self.name) did not print \"\(text)\" within \(timeout)\n\(self.transcript)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Waits for the process to end; returns ``exitStatus``, or nil if it still runs after `timeout`.
    func waitForExit(timeout: Duration) async -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while self.isRunning, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return self.exitStatus
    }

    /// Sends SIGTERM.
    func terminate() {
        if self.isRunning { _ = kill(self.pid, SIGTERM) }
    }

    /// Sends SIGKILL to the process and to every process below it.
    func killTree() {
        guard self.isRunning else { return }
        for descendant in ProcessTable.descendants(of: self.pid) { _ = kill(descendant, SIGKILL) }
        _ = kill(self.pid, SIGKILL)
    }

    private static func read(_ path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A process that ran to completion.
struct CompletedProcess: Sendable {
    var status: Int32
    var standardOutput: String
    var standardError: String
    var transcript: String
}

/// The live processes of this machine, read from /proc (Linux).
enum ProcessTable {
    struct Entry {
        var pid: Int32
        var parent: Int32
        var state: Character
    }

    /// Every process's id, parent and state, from /proc/<pid>/stat.
    static func entries() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { name in Int32(name).flatMap(self.entry) }
    }

    /// One process's entry, or nil when there is no such process.
    static func entry(_ pid: Int32) -> Entry? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let stat = String(decoding: data, as: UTF8.self)
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 2, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
        return Entry(pid: pid, parent: parent, state: state)
    }

    /// Whether `pid` is a process that has not ended (zombies count as ended).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let entry = self.entry(pid) else { return false }
        return entry.state != "Z" && entry.state != "X"
    }

    /// The command line of `pid`, arguments separated by spaces.
    static func commandLine(_ pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\0").joined(separator: " ")
    }

    /// Live children of `pid`.
    static func children(of pid: Int32) -> [Int32] {
        self.entries().filter { $0.parent == pid && $0.state != "Z" }.map(\.pid)
    }

    /// Live processes below `pid`, at any depth.
    static func descendants(of pid: Int32) -> [Int32] {
        let entries = self.entries()
        var found: [Int32] = []
        var frontier = [pid]
        while let next = frontier.popLast() {
            let children = entries.filter { $0.parent == next }.map(\.pid)
            found += children
            frontier += children
        }
        return found
    }
}

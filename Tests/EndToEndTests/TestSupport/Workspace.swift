import Foundation
import Synchronization

/// Where things are: the package, the built `keylake` executable, the Python client.
enum TestPaths {
    /// The package root, found from this file's own path (Tests/EndToEndTests/TestSupport/).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The `keylake` executable that `swift build --build-tests` put next to the test bundle.
    ///
    /// Looks beside the running test binary first (`/proc/self/exe`), then in `.build/debug`.
    static func keylake() throws -> String {
        var candidates: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("keylake").path)
        }
        candidates.append("\(self.packageRoot)/.build/debug/keylake")
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HarnessError("no keylake executable at \(candidates.joined(separator: " or ")); run `swift build --build-tests` first")
        }
        return found
    }

    /// The independent Python client.
    static var interopClient: String { "\(self.packageRoot)/Tests/Interop/health_client.py" }

    /// The TLS scanner script (sslyze, openssl s_client).
    static var tlsScanner: String { "\(self.packageRoot)/Tests/TLSScan/tls_scan.py" }
}

/// What the Python interop tests need, found once per test run.
///
/// The interop tests are skipped when this machine lacks them, except under CI (`CI` set, as
/// `.ci/run` is started), where a missing prerequisite is a failure rather than a silent skip.
enum PythonEnvironment {
    /// Running under CI: prerequisites must be installed, so tests do not skip for want of them.
    static let isCI: Bool = {
        let value = ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? ""
        return !value.isEmpty && value != "false" && value != "0"
    }()

    /// Whether the interop suite runs: the prerequisites are there, or CI demands them.
    static var runInterop: Bool { self.hasProtobuf || self.isCI }

    /// Whether the schema check runs: protoc is there, or CI demands it.
    static var runSchemaCheck: Bool { self.hasProtoc || self.isCI }

    /// The interop client's interpreter, run as the test user, can import the `protobuf` package.
    static let hasProtobuf: Bool = {
        let python = TestUser.python
        guard let command = try? TestUser.command(python.executable, python.arguments + ["-c", "import ssl, google.protobuf"]) else {
            return false
        }
        return Self.succeeds(command.executable, command.arguments)
    }()

    /// `python3` on PATH can import sslyze and cryptography (the TLS scan).
    static let hasSSLyze: Bool = Self.succeeds("/usr/bin/env", ["python3", "-c", "import sslyze, cryptography"])

    /// Whether `executable arguments` runs and exits 0 (output discarded).
    private static func succeeds(_ executable: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return false
        }
        process.waitUntilExit()
        return process.terminationReason == .exit && process.terminationStatus == 0
    }

    /// `protoc` is installed ($PROTOC or on PATH), so the client can compile proto/ itself.
    static let hasProtoc: Bool = {
        if let protoc = ProcessInfo.processInfo.environment["PROTOC"], !protoc.isEmpty {
            return FileManager.default.isExecutableFile(atPath: protoc)
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/protoc") }
    }()
}

/// A scratch directory for one test, and the processes the test started in it.
///
/// ``withWorkspace(_:)`` kills whatever is still running (with its children) and removes the
/// directory when the test ends, passed or failed.
final class Workspace: Sendable {
    let directory: String
    let keylakeExecutable: String
    private let started = Mutex<[Subprocess]>([])

    init() throws {
        self.keylakeExecutable = try TestPaths.keylake()
        self.directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("keylake-e2e-\(UUID().uuidString.prefix(12))").standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: "\(self.directory)/logs", withIntermediateDirectories: true)
        TestUser.own(self.directory)
    }

    /// A path inside the workspace.
    func path(_ relative: String) -> String { "\(self.directory)/\(relative)" }

    /// Starts a process whose output is logged in the workspace, with the workspace as its home,
    /// as the test user (``TestUser``: never root) unless `asTestUser` is false (for tools that
    /// are not the product, such as a scanner installed for the test process's user only).
    func start(
        _ name: String, executable: String, _ arguments: [String], environment: [String: String] = [:],
        asTestUser: Bool = true
    ) throws -> Subprocess {
        TestUser.own(self.directory)
        let command = asTestUser ? try TestUser.command(executable, arguments) : (executable: executable, arguments: arguments)
        let process = try Subprocess(
            name: name, executable: command.executable, arguments: command.arguments,
            environment: ["HOME": self.directory].merging(environment) { _, given in given },
            logDirectory: self.path("logs"))
        self.started.withLock { $0.append(process) }
        return process
    }

    /// Starts `keylake ARGUMENTS`.
    func startKeylake(_ arguments: [String], environment: [String: String] = [:]) throws -> Subprocess {
        try self.start("keylake \(arguments.prefix(2).joined(separator: " "))", executable: self.keylakeExecutable, arguments, environment: environment)
    }

    /// Runs a process to completion.
    ///
    /// - Throws: ``HarnessError`` (after killing it) when it is still running after `timeout`.
    func run(
        _ name: String, executable: String, _ arguments: [String], environment: [String: String] = [:],
        timeout: Duration = .seconds(60), asTestUser: Bool = true
    ) async throws -> CompletedProcess {
        let process = try self.start(name, executable: executable, arguments, environment: environment, asTestUser: asTestUser)
        guard let status = await process.waitForExit(timeout: timeout) else {
            process.killTree()
            _ = await process.waitForExit(timeout: .seconds(5))
            throw HarnessError("\(name) did not finish within \(timeout)\n\(process.transcript)")
        }
        return CompletedProcess(
            status: status, standardOutput: process.standardOutput, standardError: process.standardError,
            transcript: process.transcript)
    }

    /// Runs `keylake ARGUMENTS` to completion.
    func keylake(
        _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> CompletedProcess {
        try await self.run(
            "keylake \(arguments.prefix(2).joined(separator: " "))", executable: self.keylakeExecutable, arguments,
            environment: environment, timeout: timeout)
    }

    /// Runs the Python interop client to completion.
    func interopClient(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CompletedProcess {
        let python = TestUser.python
        return try await self.run(
            "health_client.py", executable: python.executable, python.arguments + [TestPaths.interopClient] + arguments,
            environment: ["PYTHONDONTWRITEBYTECODE": "1"], timeout: timeout)
    }

    /// Runs Tests/TLSScan/tls_scan.py (sslyze and openssl s_client) as this test process's user.
    func tlsScan(_ arguments: [String], timeout: Duration = .seconds(300)) async throws -> CompletedProcess {
        try await self.run(
            "tls_scan.py", executable: "/usr/bin/env", ["python3", TestPaths.tlsScanner] + arguments,
            environment: ["PYTHONDONTWRITEBYTECODE": "1"], timeout: timeout, asTestUser: false)
    }

    /// Kills what is still running and removes the directory.
    func tearDown() {
        for process in self.started.withLock({ $0 }) { process.killTree() }
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}

/// Runs `body` with a fresh ``Workspace``, tearing it down afterwards however `body` ends.
func withWorkspace<T>(_ body: (Workspace) async throws -> T) async throws -> T {
    let workspace = try Workspace()
    defer { workspace.tearDown() }
    return try await body(workspace)
}

/// The port of a "NAME ready on HOST:PORT" line in `output`.
func readyPort(of name: String, in output: String) -> Int? {
    for line in output.split(separator: "\n") {
        guard let range = line.range(of: "\(name) ready on ") else { continue }
        return line[range.upperBound...].split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }
    return nil
}

/// The listening port recorded in a daemon configuration file.
func configuredPort(_ path: String) throws -> Int {
    struct Configuration: Decodable {
        struct Listen: Decodable { var port: Int }
        var listen: Listen
    }
    return try JSONDecoder().decode(Configuration.self, from: Data(contentsOf: URL(fileURLWithPath: path))).listen.port
}

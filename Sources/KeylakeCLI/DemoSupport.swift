import Foundation
import GRPCCore
import KeylakeProto
import KeylakeRPC
import KeylakeTransport
import Logging

/// A failed demo step: which step and why; the demo stops with a non-zero exit.
struct DemoFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// How `keylake demo` talks: numbered steps, what each does, and what it proves.
enum DemoOutput {
    static func step(_ number: Int, _ title: String) {
        print("\n[\(number)/7] \(title)")
        fflush(nil)
    }

    static func line(_ text: String) {
        print("      \(text)")
        fflush(nil)
    }

    static func proves(_ text: String) {
        print("  ok  \(text)")
        fflush(nil)
    }
}

/// The error name and message of a failed call: the `keylake-error-name` trailer, else the status code.
struct DemoCallFailure: Sendable {
    var name: String
    var message: String

    init(_ error: RPCError) {
        self.name = error.metadata[stringValues: KeylakeMetadataKey.errorName].first(where: { _ in true }) ?? "\(error.code)"
        self.message = error.message
    }

    /// Runs `body`, which is expected to fail; returns how it failed.
    ///
    /// - Throws: ``DemoFailure`` when `body` succeeds or fails with another error name than `expected`.
    static func expect<T>(_ expected: String, _ what: String, _ body: () async throws -> T) async throws -> DemoCallFailure {
        do {
            _ = try await body()
        } catch let error as RPCError {
            let failure = DemoCallFailure(error)
            guard failure.name == expected else {
                throw DemoFailure("\(what): expected \(expected), got \(failure.name): \(failure.message)")
            }
            return failure
        }
        throw DemoFailure("\(what) succeeded, but it must fail with \(expected)")
    }
}

/// Runs `body`, turning a failed call into a ``DemoFailure`` that says what was being done.
func demoCall<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as RPCError {
        let failure = DemoCallFailure(error)
        throw DemoFailure("\(what) failed: \(failure.name): \(failure.message)")
    }
}

/// Runs `body` with a client connected to a daemon of `home` as `identity`.
func withDemoClient<T: Sendable>(
    _ home: DevHome, _ kind: DaemonKind, as identity: String, _ body: (GRPCClient<KeylakeClientTransport>) async throws -> T
) async throws -> T {
    let configuration = try home.configuration(kind)
    var logger = Logger(label: "keylake.demo")
    logger.logLevel = .error
    let transport = try KeylakeClientTransport(
        configuration: .init(
            host: configuration.listen.host, port: configuration.listen.port,
            tls: try home.clientFiles(identity: identity), logger: logger))
    return try await withGRPCClient(transport: transport) { client in
        try await body(client)
    }
}

/// One audit event in the shape of the seed document's examples.
struct DemoAuditRow {
    var eventName: String
    var userARN: String
    var invokedBy: String
    var errorCode: String
    var eventTime: String

    init(_ event: Keylake_Kms_V1_AuditEvent) {
        let object = (try? JSONSerialization.jsonObject(with: Data(event.cloudTrailEvent.utf8))) as? [String: Any] ?? [:]
        let identity = object["userIdentity"] as? [String: Any] ?? [:]
        self.eventName = event.eventName
        self.userARN = identity["arn"] as? String ?? (event.username.isEmpty ? "-" : event.username)
        self.invokedBy = identity["invokedBy"] as? String ?? "-"
        self.errorCode = object["errorCode"] as? String ?? "-"
        self.eventTime = object["eventTime"] as? String ?? ""
    }

    /// A compact table of `rows`.
    static func table(_ rows: [DemoAuditRow]) -> [String] {
        let header = ["eventName", "userIdentity.arn", "invokedBy", "errorCode"]
        let cells = rows.map { [$0.eventName, $0.userARN, $0.invokedBy, $0.errorCode] }
        var widths = header.map(\.count)
        for row in cells {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func render(_ row: [String]) -> String {
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return [render(header), render(widths.map { String(repeating: "-", count: $0) })] + cells.map(render)
    }
}

/// Every regular file below `directory`, with its bytes, for scanning what lies on disk.
func demoFiles(below directory: String) -> [(path: String, data: Data)] {
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
    var files: [(String, Data)] = []
    while let relative = enumerator.nextObject() as? String {
        let path = "\(directory)/\(relative)"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
            let data = FileManager.default.contents(atPath: path)
        else { continue }
        files.append((path, data))
    }
    return files
}

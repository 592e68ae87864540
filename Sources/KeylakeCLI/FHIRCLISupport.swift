import ArgumentParser
import DataServer
import Foundation
import GRPCCore
import KeylakeProto
import KeylakeRPC
import KeylakeTransport
import SwiftProtobuf

/// Options every `keylake healthlake` and `keylake fhir` command takes, and how they call fhird.
///
/// A failed call prints `An error occurred (<ErrorName>) when calling the <Operation> operation:
/// <message>` on standard error, then the FHIR `OperationOutcome` fhird sent with it (trailer
/// `keylake-operation-outcome`), and exits with status 254, as `keylake kms` and the AWS CLI do.
struct FHIRCLIOptions: ParsableArguments {
    @OptionGroup var home: HomeOptions

    @Option(name: .long, help: "Seconds to wait for fhird's answer.")
    var timeout: Int = 30

    func validate() throws {
        guard (1...3600).contains(self.timeout) else { throw ValidationError("--timeout must be 1 to 3600 seconds") }
    }

    typealias Client = Keylake_Healthlake_V1_HealthLakeService.Client<KeylakeClientTransport>

    /// Call options with the chosen deadline.
    var callOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(self.timeout)
        return options
    }

    /// Calls fhird; on failure prints the error name and OperationOutcome on stderr and exits 254.
    func call<Response: Sendable>(
        _ operation: String, _ body: @Sendable @escaping (Client, CallOptions) async throws -> Response
    ) async throws -> Response {
        let options = self.callOptions
        do {
            return try await self.home.withClient(.fhird) { client in
                try await body(Client(wrapping: client), options)
            }
        } catch let error as RPCError {
            let failure = FHIRCLIFailure(error)
            Terminal.error("An error occurred (\(failure.name)) when calling the \(operation) operation: \(failure.message)\n")
            if let outcome = failure.outcome {
                Terminal.error(outcome + "\n")
            }
            throw ExitCode(254)
        }
    }

    /// Calls fhird and prints the response as AWS-CLI-shaped JSON.
    func run<Response: SwiftProtobuf.Message & Sendable>(
        _ operation: String, _ body: @Sendable @escaping (Client, CallOptions) async throws -> Response
    ) async throws {
        let response = try await self.call(operation, body)
        if let text = try HealthLakeJSON.render(response) { print(text) }
    }
}

/// A failed fhird call: the error name (trailer `keylake-error-name`, else the status code), the
/// message and the OperationOutcome JSON, if fhird sent one.
struct FHIRCLIFailure: Sendable {
    var name: String
    var message: String
    var outcome: String?

    init(_ error: RPCError) {
        self.name = error.metadata[stringValues: KeylakeMetadataKey.errorName].first(where: { _ in true }) ?? "\(error.code)"
        self.message = error.message
        self.outcome = error.metadata[stringValues: HealthLakeMetadataKey.operationOutcome].first(where: { _ in true })
    }
}

/// Renders HealthLake control-plane responses as the AWS CLI prints them: PascalCase members
/// (`DatastoreId`, `DatastorePropertiesList`, …) and `CreatedAt` as an ISO 8601 timestamp.
enum HealthLakeJSON {
    static func render(_ message: some SwiftProtobuf.Message) throws -> String? {
        guard let pascal = try AWSJSON.render(message) else { return nil }
        let object = try JSONSerialization.jsonObject(with: Data(pascal.utf8), options: [.fragmentsAllowed])
        let converted = Self.timestamps(object)
        let output = try JSONSerialization.data(
            withJSONObject: converted, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        return String(decoding: output, as: UTF8.self)
    }

    /// `CreatedAt` (milliseconds since 1970 on the wire) as `2026-11-29T11:45:00.123Z`.
    private static func timestamps(_ value: Any) -> Any {
        if let dictionary = value as? [String: Any] {
            var result: [String: Any] = [:]
            for (key, inner) in dictionary {
                if key == "CreatedAt", let milliseconds = Int64("\(inner)") {
                    result[key] = Self.iso8601(milliseconds: milliseconds)
                } else {
                    result[key] = Self.timestamps(inner)
                }
            }
            return result
        }
        if let array = value as? [Any] { return array.map(Self.timestamps) }
        return value
    }

    static func iso8601(milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// Milliseconds since 1970 from an ISO 8601 timestamp (with or without fractional seconds)
    /// or a number of seconds since 1970, as the AWS CLI accepts timestamps.
    static func milliseconds(_ text: String, option: String) throws -> Int64 {
        if let seconds = Double(text), seconds.isFinite, seconds > 0 { return Int64((seconds * 1000).rounded()) }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        throw ValidationError("\(option) must be an ISO 8601 timestamp (2026-01-31T12:00:00Z) or seconds since 1970, got \"\(text)\"")
    }
}

/// Reading FHIR documents for `keylake fhir`: a file, or standard input when the path is `-` or
/// absent. The bytes are sent as they are; fhird validates them.
enum FHIRCLIInput {
    /// The largest document the CLI reads (fhird has its own, smaller limit): 64 MiB.
    static let maximumBytes = 64 << 20

    static func read(_ path: String?) throws -> Data {
        let data: Data
        do {
            data = Data(try InputFile.read(path ?? "-", what: "document", maximumBytes: Self.maximumBytes))
        } catch let error as InputFile.Failure {
            throw CLIError(error.description)
        }
        guard !data.isEmpty else { throw CLIError("no document: \(path.map { "\($0) is empty" } ?? "standard input was empty")") }
        return data
    }

    /// Prints FHIR JSON bytes as they came from fhird, followed by a newline.
    static func write(_ bytes: Data) {
        Terminal.output(bytes)
        Terminal.output(Data("\n".utf8))
    }
}

/// Parses `Key=k,Value=v` (AWS CLI shorthand) or a JSON list `[{"Key":"k","Value":"v"}]` into tags.
func healthLakeTags(_ arguments: [String], option: String) throws -> [Keylake_Healthlake_V1_Tag] {
    var tags: [Keylake_Healthlake_V1_Tag] = []
    for argument in arguments {
        let trimmed = argument.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("[") || trimmed.hasPrefix("{") {
            let parsed = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))
            let list = (parsed as? [[String: Any]]) ?? (parsed as? [String: Any]).map { [$0] }
            guard let list else { throw ValidationError("\(option): \(trimmed.prefix(80)) is not a JSON list of {\"Key\",\"Value\"}") }
            for entry in list {
                guard let key = entry["Key"] as? String, entry["Value"] == nil || entry["Value"] is String else {
                    throw ValidationError("\(option): every tag needs a string Key and a string Value")
                }
                let value = entry["Value"] as? String ?? ""
                tags.append(.with { $0.key = key; $0.value = value })
            }
            continue
        }
        var key: String?
        var value: String?
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            if part.hasPrefix("Key=") {
                key = String(part.dropFirst(4))
            } else if part.hasPrefix("Value=") {
                value = String(part.dropFirst(6))
            } else {
                throw ValidationError("\(option) expects Key=KEY,Value=VALUE, got \"\(trimmed.prefix(80))\"")
            }
        }
        guard let key else { throw ValidationError("\(option) expects Key=KEY,Value=VALUE, got \"\(trimmed.prefix(80))\"") }
        tags.append(.with { $0.key = key; $0.value = value ?? "" })
    }
    return tags
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which principals may call which fhird operations: fhird's stand-in for IAM identity policies.
///
/// The file is JSON mapping a principal (the URI SAN of its client certificate) to the
/// operations it may call:
///
/// ```json
/// { "principals": {
///     "arn:aws:iam::111122223333:root": ["*"],
///     "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole": ["*"],
///     "arn:aws:iam::111122223333:role/Reader": ["ReadResource", "VReadResource", "SearchResources", "Describe*"] } }
/// ```
///
/// Operation names are the RPC names of `keylake.healthlake.v1.HealthLakeService`, optionally
/// prefixed `healthlake:`; `*` is every operation and a trailing `*` matches a prefix. A
/// principal not listed may do nothing. The policy says who may use fhird; whether fhird may
/// use a customer's key is decided by kmsd (key policy and grant).
public struct AccessPolicy: Hashable, Sendable {
    /// Allowed operation patterns by principal.
    public let principals: [String: [String]]

    /// Creates a policy.
    public init(principals: [String: [String]]) {
        self.principals = principals
    }

    /// A policy letting `principals` do everything.
    public static func allowingEverything(to principals: [String]) -> AccessPolicy {
        AccessPolicy(principals: Dictionary(principals.map { ($0, ["*"]) }, uniquingKeysWith: { first, _ in first }))
    }

    private struct File: Codable {
        var principals: [String: [String]]
    }

    /// Parses the JSON form.
    ///
    /// - Throws: `DecodingError` when the document is not of the documented shape.
    public init(json: Data) throws {
        self.init(principals: try JSONDecoder().decode(File.self, from: json).principals)
    }

    /// The JSON form.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(File(principals: self.principals))
    }

    /// Reads a policy file.
    ///
    /// - Throws: ``HealthLakeError`` naming the file when it cannot be read or parsed.
    public static func load(from path: String) throws -> AccessPolicy {
        do {
            return try AccessPolicy(json: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw HealthLakeError(code: .internalServer, message: "access policy \(path) cannot be read: \(error)")
        }
    }

    /// Whether `principal` may call `operation`.
    public func allows(_ principal: String, _ operation: String) -> Bool {
        guard let patterns = self.principals[principal] else { return false }
        return patterns.contains { pattern in
            var pattern = Substring(pattern)
            if pattern.hasPrefix("healthlake:") { pattern = pattern.dropFirst("healthlake:".count) }
            if pattern.hasSuffix("*") { return operation.hasPrefix(pattern.dropLast()) }
            return pattern == operation
        }
    }
}

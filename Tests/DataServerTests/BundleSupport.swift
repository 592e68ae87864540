import DataStore
import Foundation
import GRDB
import GRPCCore
import KeylakeProto
import SwiftProtobuf
import Testing

/// Helpers for Bundle tests: building Bundles, sending them, reading responses, and counting
/// stored rows straight from fhird's database file.
enum Bundles {
    /// A Bundle of `type` with `entries`.
    static func bundle(_ type: String, _ entries: [JSONValue]) -> [UInt8] {
        let object: JSONObject = ["resourceType": .string("Bundle"), "type": .string(type), "entry": .array(entries)]
        return object.serialized()
    }

    /// One entry.
    static func entry(_ method: String, _ url: String, resource: JSONObject? = nil, fullUrl: String? = nil, ifMatch: String? = nil) -> JSONValue {
        var entry: JSONObject = [:]
        if let fullUrl { entry["fullUrl"] = .string(fullUrl) }
        if let resource { entry["resource"] = .object(resource) }
        var request: JSONObject = ["method": .string(method), "url": .string(url)]
        if let ifMatch { request["ifMatch"] = .string(ifMatch) }
        entry["request"] = .object(request)
        return .object(entry)
    }

    /// A JSON object from text.
    static func object(_ text: String) throws -> JSONObject {
        try #require(try JSONValue.parse(Array(text.utf8)).objectValue)
    }

    /// Sends a Bundle; returns the response Bundle. Bundles of up to 500 entries: a heavy call.
    static func send(_ system: TestSystem, _ datastore: String, _ bundle: [UInt8]) async throws -> JSONObject {
        let response = try await system.app.processBundle(.with { $0.datastoreID = datastore; $0.bundle = Data(bundle) }, options: .bulk)
        return try #require(try JSONValue.parse(Array(response.bundle)).objectValue)
    }

    /// The response entries of a response Bundle.
    static func entries(_ response: JSONObject) -> [JSONObject] {
        (response["entry"]?.arrayValue ?? []).compactMap(\.objectValue)
    }

    /// `response.status` of an entry.
    static func status(_ entry: JSONObject) -> String? {
        entry["response"]?.objectValue?["status"]?.stringValue
    }

    /// `response.location` of an entry.
    static func location(_ entry: JSONObject) -> String? {
        entry["response"]?.objectValue?["location"]?.stringValue
    }

    /// `Type/id` from a location `Type/id/_history/v`.
    static func reference(fromLocation location: String?) -> String? {
        guard let parts = location?.split(separator: "/"), parts.count == 4, parts[2] == "_history" else { return nil }
        return "\(parts[0])/\(parts[1])"
    }

    /// The outcome diagnostics of a failed entry, joined.
    static func diagnostics(_ entry: JSONObject) -> String {
        let issues = entry["response"]?.objectValue?["outcome"]?.objectValue?["issue"]?.arrayValue ?? []
        return issues.compactMap { $0.objectValue?["diagnostics"]?.stringValue }.joined(separator: "\n")
    }

    /// Reads a resource; `nil` when fhird says ResourceNotFoundException.
    static func read(_ system: TestSystem, _ datastore: String, _ reference: String) async throws -> FHIRResource? {
        let parts = reference.split(separator: "/").map(String.init)
        do {
            let response = try await system.app.readResource(
                .with { $0.datastoreID = datastore; $0.resourceType = parts[0]; $0.id = parts[1] }, options: .test)
            return try FHIRResource.parse(Array(response.resource))
        } catch let error as RPCError where CallFailure(error).name == "ResourceNotFoundException" {
            return nil
        }
    }

    /// Rows of fhird's database counted straight from the file (no keys needed), e.g. versions
    /// stored in a datastore.
    static func count(_ system: TestSystem, _ sql: String) throws -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        let database = try DatabaseQueue(path: "\(system.dataDirectory)/fhir.sqlite", configuration: configuration)
        defer { try? database.close() }
        return try database.read { try Int.fetchOne($0, sql: sql) ?? 0 }
    }

    /// Resource versions stored in a datastore.
    static func versions(_ system: TestSystem, _ datastore: String) throws -> Int {
        try self.count(system, "SELECT COUNT(*) FROM resource_version WHERE datastore_id = '\(datastore)'")
    }
}

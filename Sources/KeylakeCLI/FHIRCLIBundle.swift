import Foundation
import KeylakeProto

/// FHIR documents the CLI assembles from fhird's answers. Resources are embedded byte for byte
/// as fhird returned them (member order and number literals kept).
enum FHIRCLIBundle {
    /// A FHIR `history` Bundle of `entries` (newest first): each entry has `fullUrl`, the
    /// `resource` (absent for a deletion), `request` (method and URL) and `response` (status,
    /// ETag, lastModified).
    static func history(_ entries: [Keylake_Healthlake_V1_HistoryEntry]) -> Data {
        var out = Data(#"{"resourceType":"Bundle","type":"history","total":"#.utf8)
        out += Data("\(entries.count),\"entry\":[".utf8)
        for (position, entry) in entries.enumerated() {
            if position > 0 { out += Data(",".utf8) }
            let url = "\(entry.resourceType)/\(entry.id)"
            out += Data("{\"fullUrl\":\(Self.string(url)),".utf8)
            if !entry.deleted, !entry.resource.isEmpty {
                out += Data("\"resource\":".utf8) + entry.resource + Data(",".utf8)
            }
            let method = entry.deleted ? "DELETE" : (entry.versionID == "1" ? "POST" : "PUT")
            let status = entry.deleted ? "204" : (entry.versionID == "1" ? "201" : "200")
            out += Data(
                ("\"request\":{\"method\":\(Self.string(method)),\"url\":\(Self.string(method == "POST" ? entry.resourceType : url))},"
                    + "\"response\":{\"status\":\(Self.string(status)),\"etag\":\(Self.string("W/\"\(entry.versionID)\"")),"
                    + "\"lastModified\":\(Self.string(entry.lastUpdated))}}").utf8)
        }
        out += Data("]}".utf8)
        return out
    }

    /// An OperationOutcome with one `information` issue.
    static func informationOutcome(_ diagnostics: String) -> Data {
        Data(
            (#"{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"#
                + Self.string(diagnostics) + "}]}").utf8)
    }

    /// `text` as a JSON string literal.
    static func string(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

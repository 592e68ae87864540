import KeylakeProto
import SwiftProtobuf

/// Every audit event of one key, oldest first, read page by page through LookupEvents.
///
/// kmsd answers newest first; the events are turned around so they read as the story happened.
/// `fetch` makes one LookupEvents call (with whatever retry or error wrapping the caller wants).
func auditEventsOldestFirst(
    keyARN: String, pageSize: Int32,
    fetch: (Keylake_Kms_V1_LookupEventsRequest) async throws -> Keylake_Kms_V1_LookupEventsResponse
) async throws -> [Keylake_Kms_V1_AuditEvent] {
    var events: [Keylake_Kms_V1_AuditEvent] = []
    var token = ""
    repeat {
        let page = try await fetch(
            .with {
                $0.lookupAttributes = [.with { $0.attributeKey = "ResourceName"; $0.attributeValue = keyARN }]
                $0.maxResults = pageSize
                $0.nextToken = token
            })
        events += page.events
        token = page.nextToken
    } while !token.isEmpty
    events.reverse()
    return events
}

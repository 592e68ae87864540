import Foundation

/// An audit event rendered and ready to be chained: everything but its sequence number, chain
/// hash and seal, which `AuditTrail.append` adds inside the writer.
struct PreparedAuditEvent: Sendable {
    /// The event id in the document.
    var eventID: String
    /// The event time in the document.
    var time: Date
    /// The canonical JSON document: the exact text that is stored and hashed.
    var document: String
    /// Indexed columns.
    var eventName: String
    var keyID: KeyID?
    var principal: String
    var ownerService: String?
}

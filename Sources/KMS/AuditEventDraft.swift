/// What the key service knows about a call when it writes the audit event; ``AuditTrail`` adds
/// the event id, time and chain hash.
struct AuditEventDraft: Sendable {
    var eventName: String
    var eventSource: String
    var readOnly: Bool
    var userIdentity: AuditJSON
    /// The effective principal, indexed for lookups.
    var principal: String
    var requestParameters: [String: AuditJSON]?
    var responseElements: [String: AuditJSON]?
    var additionalEventData: [String: AuditJSON]?
    /// The ARNs of the keys the call touched.
    var resourceARNs: [String]
    /// The key the event is indexed under.
    var keyID: KeyID?
    /// For a service-owned key, its service: the event is hidden from customers.
    var ownerService: String?
    var requestID: String
    var sourceIPAddress: String
    var userAgent: String
    var errorCode: String?
    var errorMessage: String?
}

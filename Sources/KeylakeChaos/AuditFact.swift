/// One key-service audit event on the customer-managed key, as much as the checker needs: no
/// request parameters, no key material.
public struct AuditFact: Codable, Sendable, Hashable {
    /// Position in the trail, oldest first (0-based): the order kmsd committed the events in.
    public var position: Int
    /// `GenerateDataKey`, `Decrypt`, `RevokeGrant`, …
    public var eventName: String
    /// The event's time in seconds since the start of the run: when kmsd rendered the event,
    /// right after deciding the call.
    public var time: Double
    /// Whether ``time`` is to the millisecond (from a version-7 event id); otherwise it is
    /// kmsd's whole-second `eventTime`, up to one second early.
    public var timePrecise: Bool
    /// Whether the data service made the call (as itself, or on behalf of a user).
    public var byDataService: Bool
    /// The error code, `nil` when kmsd allowed the call.
    public var errorCode: String?

    /// Creates a fact.
    public init(position: Int, eventName: String, time: Double, timePrecise: Bool = false, byDataService: Bool, errorCode: String?) {
        self.position = position
        self.eventName = eventName
        self.time = time
        self.timePrecise = timePrecise
        self.byDataService = byDataService
        self.errorCode = errorCode
    }

    /// How much earlier than the real moment ``time`` may be.
    public var timeUncertainty: Double { self.timePrecise ? 0 : 1 }

    /// Whether kmsd allowed the call.
    public var allowed: Bool { self.errorCode == nil }

    /// The operations by which the data service uses a key for data.
    public static let keyUseEventNames: Set<String> = [
        "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "Decrypt", "Encrypt", "ReEncrypt",
    ]

    /// Whether this is an allowed use of the key for data by the data service.
    public var isAllowedDataKeyUse: Bool { self.byDataService && self.allowed && Self.keyUseEventNames.contains(self.eventName) }
}

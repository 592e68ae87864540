/// One key-service audit event on the customer-managed key, as much as the checker needs: no
/// request parameters, no key material.
public struct AuditFact: Codable, Sendable, Hashable {
    /// Position in the trail, oldest first (0-based): the order kmsd committed the events in.
    public var position: Int
    /// `GenerateDataKey`, `Decrypt`, `RevokeGrant`, …
    public var eventName: String
    /// The event's time in seconds since the start of the run (kmsd records whole seconds, so
    /// this is up to one second early).
    public var time: Double
    /// Whether the data service made the call (as itself, or on behalf of a user).
    public var byDataService: Bool
    /// The error code, `nil` when kmsd allowed the call.
    public var errorCode: String?

    /// Creates a fact.
    public init(position: Int, eventName: String, time: Double, byDataService: Bool, errorCode: String?) {
        self.position = position
        self.eventName = eventName
        self.time = time
        self.byDataService = byDataService
        self.errorCode = errorCode
    }

    /// Whether kmsd allowed the call.
    public var allowed: Bool { self.errorCode == nil }

    /// The operations by which the data service uses a key for data.
    public static let keyUseEventNames: Set<String> = [
        "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "Decrypt", "Encrypt", "ReEncrypt",
    ]

    /// Whether this is an allowed use of the key for data by the data service.
    public var isAllowedDataKeyUse: Bool { self.byDataService && self.allowed && Self.keyUseEventNames.contains(self.eventName) }
}

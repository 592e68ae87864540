/// One data-plane call as a client saw it: when it was invoked and completed, what it touched and
/// how it ended.
///
/// Times are seconds since the start of the run on a monotonic clock. A `completed` of `nil`
/// means the call never completed: it hung.
public struct OperationRecord: Codable, Sendable, Hashable {
    /// Unique, increasing in invoke order across all clients.
    public var sequence: Int
    /// The client (0-based) that made the call.
    public var client: Int
    /// What the call did.
    public var kind: OperationKind
    /// FHIR resource type, e.g. `Patient`.
    public var resourceType: String
    /// The resource id (known once the server assigned it; empty for a failed create or a search).
    public var resourceID: String
    /// For creates: a marker (an `identifier` value) written into the resource, so a failed create
    /// can be searched for afterwards.
    public var marker: String?
    /// When the call was made.
    public var invoked: Double
    /// When it completed; `nil` = it never did.
    public var completed: Double?
    /// The deadline the call was made with, in seconds.
    public var deadline: Double
    /// `nil` for success, else the error name (the `keylake-error-name` trailer, else the status code).
    public var errorName: String?
    /// For writes: the digest (see ``ContentDigest``) of the content sent, minus server metadata.
    public var contentDigest: String?

    /// Creates a record.
    public init(
        sequence: Int, client: Int, kind: OperationKind, resourceType: String, resourceID: String = "", marker: String? = nil,
        invoked: Double, completed: Double?, deadline: Double, errorName: String?, contentDigest: String? = nil
    ) {
        self.sequence = sequence
        self.client = client
        self.kind = kind
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.marker = marker
        self.invoked = invoked
        self.completed = completed
        self.deadline = deadline
        self.errorName = errorName
        self.contentDigest = contentDigest
    }

    /// Whether the call completed successfully.
    public var succeeded: Bool { self.completed != nil && self.errorName == nil }

    /// Completion minus invocation, when it completed.
    public var latency: Double? { self.completed.map { $0 - self.invoked } }

    /// `#12 create Patient/abc by client 2`: how violations name operations.
    public var label: String {
        let target = self.resourceID.isEmpty ? self.resourceType : "\(self.resourceType)/\(self.resourceID)"
        return "#\(self.sequence) \(self.kind.rawValue) \(target) (client \(self.client))"
    }
}

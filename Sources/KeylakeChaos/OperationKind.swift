/// What a recorded data-plane operation did.
public enum OperationKind: String, Codable, Sendable, CaseIterable {
    /// `CreateResource`.
    case create
    /// `ReadResource`.
    case read
    /// `UpdateResource`.
    case update
    /// `SearchResources`.
    case search
    /// `ProcessBundle`.
    case bundle
    /// A read made after the load to see whether the data service has recovered.
    case probe

    /// Whether the operation writes (its acknowledgement promises durable content).
    public var isWrite: Bool { self == .create || self == .update || self == .bundle }
}

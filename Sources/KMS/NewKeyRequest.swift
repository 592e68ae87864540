/// What `CreateKey` (or the registration of a service-owned key) asks for.
public struct NewKeyRequest: Hashable, Sendable {
    /// Customer-managed or service-owned.
    public var kind: KeyKind
    /// For a service-owned key, the service principal it belongs to; must be `nil` otherwise.
    public var ownerService: String?
    /// The description, at most ``KeyStoreLimits/maximumDescriptionCharacters``.
    public var description: String
    /// The key policy; `nil` installs ``KeyPolicy/defaultPolicy(accountID:partition:)``.
    public var policy: KeyPolicy?

    /// Creates a request.
    public init(kind: KeyKind = .customerManaged, ownerService: String? = nil, description: String = "", policy: KeyPolicy? = nil) {
        self.kind = kind
        self.ownerService = ownerService
        self.description = description
        self.policy = policy
    }
}

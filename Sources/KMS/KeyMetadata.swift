import Foundation

/// What the key store knows about a key, apart from its material and policy.
public struct KeyMetadata: Hashable, Sendable {
    /// The key id.
    public var keyID: KeyID
    /// The key ARN.
    public var arn: String
    /// Customer-managed or service-owned.
    public var kind: KeyKind
    /// For a service-owned key, the service principal it belongs to.
    public var ownerService: String?
    /// The lifecycle state.
    public var state: KeyState
    /// When a key pending deletion will be deleted.
    public var deletionDate: Date?
    /// The owner's description.
    public var description: String
    /// When the key was created.
    public var creationDate: Date
    /// Whether automatic rotation is on.
    public var rotationEnabled: Bool
    /// The automatic rotation period, when rotation is on.
    public var rotationPeriodInDays: Int?
    /// The material version new ciphertexts use; older versions still decrypt.
    public var currentMaterialVersion: UInt32

    /// Creates metadata.
    public init(
        keyID: KeyID,
        arn: String,
        kind: KeyKind,
        ownerService: String?,
        state: KeyState,
        deletionDate: Date?,
        description: String,
        creationDate: Date,
        rotationEnabled: Bool,
        rotationPeriodInDays: Int?,
        currentMaterialVersion: UInt32
    ) {
        self.keyID = keyID
        self.arn = arn
        self.kind = kind
        self.ownerService = ownerService
        self.state = state
        self.deletionDate = deletionDate
        self.description = description
        self.creationDate = creationDate
        self.rotationEnabled = rotationEnabled
        self.rotationPeriodInDays = rotationPeriodInDays
        self.currentMaterialVersion = currentMaterialVersion
    }
}

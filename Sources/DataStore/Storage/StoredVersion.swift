/// A resource version to write.
public struct ResourceWrite: Sendable {
    /// What the version holds.
    public enum Content: Sendable {
        /// The sealed resource.
        case sealed(SealedResource)
        /// A deletion: the version exists, without content.
        case deleted
    }

    /// The datastore.
    public var datastoreID: String
    /// The resource type.
    public var resourceType: FHIRResourceType
    /// The resource id.
    public var resourceID: String
    /// The new version, 1 for a new resource, else the current version + 1. The store refuses
    /// the write with `versionConflict` when the current version is not `versionID - 1`: the
    /// optimistic lock (If-Match) and the guard against two writers racing for one version.
    public var versionID: Int
    /// `meta.lastUpdated`, in milliseconds since 1970 (the same instant the sealed JSON holds).
    public var lastUpdated: Int64
    /// The content.
    public var content: Content
    /// The blind tokens of this version; they replace the previous version's.
    public var tokens: [IndexToken]

    /// Creates a write.
    public init(
        datastoreID: String, resourceType: FHIRResourceType, resourceID: String, versionID: Int,
        lastUpdated: Int64, content: Content, tokens: [IndexToken]
    ) {
        self.datastoreID = datastoreID
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.versionID = versionID
        self.lastUpdated = lastUpdated
        self.content = content
        self.tokens = tokens
    }
}

/// A stored resource version.
public struct StoredVersion: Hashable, Sendable {
    /// The resource type.
    public let resourceType: FHIRResourceType
    /// The resource id.
    public let resourceID: String
    /// The version.
    public let versionID: Int
    /// `meta.lastUpdated`, in milliseconds since 1970.
    public let lastUpdated: Int64
    /// The sealed resource; `nil` for a deletion.
    public let sealed: SealedResource?

    /// Whether this version is a deletion.
    public var isDeleted: Bool { self.sealed == nil }

    /// The encryption context this version was sealed under.
    public func context(datastoreID: String) -> EncryptionContext {
        EncryptionContext(datastoreID: datastoreID, resourceType: self.resourceType.name, resourceID: self.resourceID, versionID: String(self.versionID))
    }
}

import Foundation

/// The lifecycle state of a datastore (HealthLake's `DatastoreStatus`).
public enum DatastoreStatus: String, Hashable, Sendable, CaseIterable {
    /// Keys are being set up; not yet readable or writable.
    case creating = "CREATING"
    /// In service.
    case active = "ACTIVE"
    /// Being deleted; no longer readable or writable.
    case deleting = "DELETING"
    /// Deleted: its resources, tokens and index key are gone; the record remains.
    case deleted = "DELETED"
    /// Creation failed; ``DatastoreRecord/errorCause`` says why.
    case createFailed = "CREATE_FAILED"
}

/// How a datastore's resources are encrypted; fixed at creation.
public struct EncryptionConfiguration: Hashable, Sendable {
    /// HealthLake's `CmkType`.
    public enum KeyType: String, Hashable, Sendable {
        /// Only the service-owned key.
        case serviceOwned = "AWS_OWNED_KMS_KEY"
        /// A customer-managed key over the service-owned key.
        case customerManaged = "CUSTOMER_MANAGED_KMS_KEY"
    }

    /// The key type.
    public let keyType: KeyType
    /// The customer-managed key's ARN; `nil` for a service-owned datastore.
    public let kmsKeyARN: String?

    /// A service-owned datastore.
    public static let serviceOwned = EncryptionConfiguration(keyType: .serviceOwned, kmsKeyARN: nil)

    /// A datastore under a customer-managed key.
    public static func customerManaged(keyARN: String) -> EncryptionConfiguration {
        EncryptionConfiguration(keyType: .customerManaged, kmsKeyARN: keyARN)
    }

    private init(keyType: KeyType, kmsKeyARN: String?) {
        self.keyType = keyType
        self.kmsKeyARN = kmsKeyARN
    }

    init?(keyType: String, kmsKeyARN: String?) {
        switch (KeyType(rawValue: keyType), kmsKeyARN) {
        case (.serviceOwned?, nil): self = .serviceOwned
        case (.customerManaged?, let arn?): self = .customerManaged(keyARN: arn)
        default: return nil
        }
    }

    /// The encryption layers, outermost first.
    public var layers: [KeyLayer] { KeyLayer.layers(customerManaged: self.keyType == .customerManaged) }
}

/// A request to create a datastore.
public struct NewDatastore: Hashable, Sendable {
    /// The datastore id (the caller generates it).
    public var id: String
    /// The name.
    public var name: String
    /// The encryption configuration, fixed for life.
    public var encryption: EncryptionConfiguration
    /// The idempotency token: a second create with the same token returns the first datastore.
    public var clientToken: String?
    /// Tags.
    public var tags: [String: String]
    /// The creation time.
    public var createdAt: Date

    /// Creates a request.
    public init(id: String, name: String, encryption: EncryptionConfiguration, clientToken: String? = nil, tags: [String: String] = [:], createdAt: Date = Date()) {
        self.id = id
        self.name = name
        self.encryption = encryption
        self.clientToken = clientToken
        self.tags = tags
        self.createdAt = createdAt
    }
}

/// A stored datastore.
public struct DatastoreRecord: Hashable, Sendable {
    /// The id.
    public let id: String
    /// The name.
    public let name: String
    /// Always `R4`.
    public let typeVersion: String
    /// The lifecycle state.
    public let status: DatastoreStatus
    /// Why creation failed, for `CREATE_FAILED`.
    public let errorCause: String?
    /// The creation time (millisecond precision).
    public let createdAt: Date
    /// The encryption configuration.
    public let encryption: EncryptionConfiguration
    /// The idempotency token it was created with.
    public let clientToken: String?
    /// Tags.
    public let tags: [String: String]
    /// The wrapped search index key, once the datastore is active.
    public let wrappedIndexKey: WrappedIndexKey?
}

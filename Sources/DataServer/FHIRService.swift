public import DataStore
import KeylakeProto
public import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The FHIR data service: datastores under service-owned or customer-managed keys, and FHIR R4
/// resources in them, envelope-encrypted with data keys from kmsd and searchable through blind
/// tokens.
///
/// Nothing here caches key material: every write asks kmsd for fresh data keys, every read
/// and search asks kmsd to unwrap them again, so revoking a grant or disabling a key takes
/// effect on the next call. Errors are thrown as the domain's own (`DataStoreError`,
/// `FHIRValidationError`, ``KMSKeyAccessError``) or ``HealthLakeError``; the RPC layer turns
/// them into statuses with ``HealthLakeError/init(_:)``.
public final class FHIRService: Sendable {
    /// The stored form of a resource version as callers get it back.
    public struct StoredResource: Sendable {
        /// The resource JSON with server-managed `id` and `meta`.
        public var json: [UInt8]
        /// The resource type.
        public var resourceType: FHIRResourceType
        /// The id.
        public var id: String
        /// The version.
        public var versionID: Int
        /// `meta.lastUpdated`, milliseconds since 1970.
        public var lastUpdated: Int64
        /// Whether the call created the resource.
        public var created: Bool
    }

    /// One entry of a history.
    public struct HistoryEntry: Sendable {
        /// The version; its `json` is empty for a deletion.
        public var version: StoredResource
        /// Whether the version is a deletion.
        public var isDeleted: Bool
    }

    /// One page of search results.
    public struct SearchPage: Sendable {
        /// The matching resources of this page, in order.
        public var resources: [StoredResource]
        /// The token of the next page, `nil` on the last page.
        public var nextPageToken: String?
    }

    /// What a caller asks to create.
    public struct DatastoreRequest: Sendable {
        /// The name.
        public var name: String
        /// `R4` (empty means R4).
        public var typeVersion: String
        /// The key type.
        public var keyType: EncryptionConfiguration.KeyType
        /// The customer-managed key (id, ARN or alias) for `CUSTOMER_MANAGED_KMS_KEY`.
        public var kmsKeyID: String
        /// The idempotency token.
        public var clientToken: String?
        /// Tags.
        public var tags: [String: String]

        /// Creates a request.
        public init(
            name: String, typeVersion: String = "R4", keyType: EncryptionConfiguration.KeyType = .serviceOwned, kmsKeyID: String = "",
            clientToken: String? = nil, tags: [String: String] = [:]
        ) {
            self.name = name
            self.typeVersion = typeVersion
            self.keyType = keyType
            self.kmsKeyID = kmsKeyID
            self.clientToken = clientToken
            self.tags = tags
        }
    }

    /// The resource store.
    public let store: ResourceStore
    /// The settings.
    public let settings: FHIRServiceSettings
    private let keyService: KeyServiceClient
    private let directory: DatastoreKeyDirectory
    let cipher: EnvelopeCipher
    /// Shares index-key unwraps among concurrent requests (``FHIRServiceSettings/shareIndexKeyUnwraps``).
    private let indexKeyUnwraps: IndexKeyUnwrapCoalescer
    let table: SearchParameterTable
    let logger: Logger

    /// Creates the service over a store and a key-service client.
    public init(
        store: ResourceStore, keyService: KeyServiceClient, settings: FHIRServiceSettings = FHIRServiceSettings(),
        table: SearchParameterTable = .r4, logger: Logger = Logger(label: "keylake.fhird")
    ) {
        self.store = store
        self.settings = settings
        self.keyService = keyService
        self.directory = DatastoreKeyDirectory(store: store)
        let cipher = EnvelopeCipher(provider: KMSDataKeyProvider(keyService: keyService, directory: self.directory))
        self.cipher = cipher
        self.indexKeyUnwraps = IndexKeyUnwrapCoalescer { wrapped, datastoreID in
            try await cipher.indexKey(unwrapping: wrapped, datastoreID: datastoreID)
        }
        self.table = table
        self.logger = logger
    }

    /// Opens (creating if needed) the store at `databasePath` and creates the service over it.
    ///
    /// - Throws: GRDB's `DatabaseError` when the file cannot be opened or migrated.
    public convenience init(
        databasePath: String, keyService: KeyServiceClient, settings: FHIRServiceSettings = FHIRServiceSettings(),
        logger: Logger = Logger(label: "keylake.fhird")
    ) throws {
        self.init(store: try ResourceStore(path: databasePath, settings: settings.storeSettings, logger: logger), keyService: keyService, settings: settings, logger: logger)
    }

    // MARK: - Datastores

    /// The name of the grant fhird holds on a datastore's customer-managed key.
    static func grantName(datastoreID: String) -> String { "healthlake-datastore-\(datastoreID)" }

    /// Creates a datastore and makes it `ACTIVE`.
    ///
    /// With a customer-managed key: `DescribeKey` on behalf of `caller` first (missing, not
    /// allowed, disabled or pending deletion: a clear error and nothing is created); then
    /// `CreateGrant` on behalf of `caller` for the data service. Then a service-owned key and
    /// the datastore's index key, wrapped under every layer. A repeated client token returns
    /// the datastore created first.
    ///
    /// - Throws: ``HealthLakeError`` `ValidationException`, ``KMSKeyAccessError``,
    ///   `DataStoreError` `alreadyExists`; after the record exists, a failure leaves it
    ///   `CREATE_FAILED` with the cause and is rethrown.
    public func createDatastore(_ request: DatastoreRequest, caller: String) async throws -> DatastoreRecord {
        guard (1...256).contains(request.name.count) else {
            throw HealthLakeError(code: .validation, message: "DatastoreName must be 1 to 256 characters")
        }
        guard request.typeVersion.isEmpty || request.typeVersion == "R4" else {
            throw HealthLakeError(code: .validation, message: "DatastoreTypeVersion must be R4")
        }
        if let token = request.clientToken, !(1...64).contains(token.count) {
            throw HealthLakeError(code: .validation, message: "ClientToken must be 1 to 64 characters")
        }
        try self.validateTags(request.tags.map { (key: $0.key, value: $0.value) })
        let encryption: EncryptionConfiguration
        switch request.keyType {
        case .serviceOwned:
            guard request.kmsKeyID.isEmpty else {
                throw HealthLakeError(code: .validation, message: "KmsKeyId is only allowed with CmkType CUSTOMER_MANAGED_KMS_KEY")
            }
            encryption = .serviceOwned
        case .customerManaged:
            guard !request.kmsKeyID.isEmpty else {
                throw HealthLakeError(code: .validation, message: "CmkType CUSTOMER_MANAGED_KMS_KEY needs a KmsKeyId")
            }
            encryption = .customerManaged(keyARN: try await self.usableCustomerKey(request.kmsKeyID, caller: caller))
        }
        let id = Self.newDatastoreID()
        let (record, created) = try self.store.createDatastore(
            NewDatastore(id: id, name: request.name, encryption: encryption, clientToken: request.clientToken, tags: request.tags))
        guard created else { return record }
        var grantMade = false
        do {
            if let keyARN = encryption.kmsKeyARN {
                _ = try await self.keyService.createGrant(
                    keyARN: keyARN, servicePrincipal: self.settings.servicePrincipal, name: Self.grantName(datastoreID: id),
                    onBehalfOf: caller)
                grantMade = true
            }
            let serviceKey = try await self.keyService.createServiceOwnedKey(description: "HealthLake datastore \(id)")
            self.directory.register(
                datastoreID: id, keys: DatastoreKeys(serviceOwnedKeyARN: serviceKey, customerManagedKeyARN: encryption.kmsKeyARN))
            let (_, wrapped) = try await self.cipher.newIndexKey(datastoreID: id, layers: encryption.layers)
            try self.store.activateDatastore(id: id, wrappedIndexKey: wrapped)
        } catch {
            let failure = HealthLakeError(error)
            self.directory.forget(datastoreID: id)
            try? self.store.markCreateFailed(id: id, cause: failure.message)
            if grantMade, let keyARN = encryption.kmsKeyARN {
                _ = try? await self.keyService.retireGrants(
                    named: Self.grantName(datastoreID: id), keyARN: keyARN, servicePrincipal: self.settings.servicePrincipal)
            }
            self.logger.warning("datastore creation failed", metadata: ["datastore": "\(id)", "cause": "\(failure)"])
            throw failure
        }
        self.logger.info("created datastore", metadata: ["datastore": "\(id)", "cmkType": "\(encryption.keyType.rawValue)"])
        return try self.store.datastore(id: id)
    }

    /// Checks on behalf of `caller` that a customer-managed key exists, may be used, and is
    /// enabled; returns its ARN.
    private func usableCustomerKey(_ keyID: String, caller: String) async throws -> String {
        let metadata = try await self.keyService.describeKey(keyID: keyID, onBehalfOf: caller)
        let arn = metadata.arn.isEmpty ? keyID : metadata.arn
        switch metadata.keyState {
        case .enabled:
            break
        case .disabled:
            throw KMSKeyAccessError(keyARN: arn, cause: .disabled, operation: "CreateFHIRDatastore")
        case .pendingDeletion:
            throw KMSKeyAccessError(keyARN: arn, cause: .invalidState, operation: "CreateFHIRDatastore")
        default:
            throw KMSKeyAccessError(keyARN: arn, cause: .invalidState, operation: "CreateFHIRDatastore")
        }
        guard metadata.keyManager == .customer else {
            throw HealthLakeError(code: .validation, message: "KMS key \(arn) is not a customer-managed key")
        }
        return arn
    }

    /// A new datastore id: 32 lowercase hex digits, as HealthLake's.
    static func newDatastoreID() -> String {
        String(UUID().uuidString.lowercased().filter { $0 != "-" })
    }

    /// One datastore.
    ///
    /// - Throws: `DataStoreError` `notFound`.
    public func describeDatastore(id: String) throws -> DatastoreRecord {
        try Self.requireValidDatastoreID(id)
        return try self.store.datastore(id: id)
    }

    /// Datastores, filtered, one page at a time.
    ///
    /// - Returns: The page and the token of the next page (`nil` on the last page).
    public func listDatastores(
        name: String?, status: DatastoreStatus?, createdAfter: Date?, createdBefore: Date?, maxResults: Int, nextToken: String?
    ) throws -> (datastores: [DatastoreRecord], nextToken: String?) {
        guard (0...self.settings.maximumListResults).contains(maxResults) else {
            throw HealthLakeError(code: .validation, message: "MaxResults must be 1 to \(self.settings.maximumListResults)")
        }
        if let nextToken {
            // A token is the id of the last datastore of the previous page: anything else was not
            // issued by this service.
            try Self.requireValidDatastoreID(nextToken, field: "NextToken")
            guard (try? self.store.datastore(id: nextToken)) != nil else {
                throw HealthLakeError(code: .validation, message: "NextToken is not a token this service issued")
            }
        }
        let limit = maxResults == 0 ? 100 : maxResults
        let page = try self.store.listDatastores(
            name: name, status: status, createdAfter: createdAfter, createdBefore: createdBefore, limit: limit + 1, afterID: nextToken)
        let entries = Array(page.prefix(limit))
        return (entries, page.count > limit ? entries.last?.id : nil)
    }

    /// Deletes a datastore: it stops serving at once, its resources, tokens and index key are
    /// destroyed, the grant on its customer-managed key is retired and its service-owned key
    /// scheduled for deletion.
    ///
    /// Retiring the grant and scheduling the key deletion are best effort (logged when kmsd
    /// refuses): the data is already unreadable without the index key and the rows.
    ///
    /// - Throws: `DataStoreError` `notFound`, `datastoreNotActive` when already deleting or deleted.
    public func deleteDatastore(id: String) async throws -> DatastoreRecord {
        try Self.requireValidDatastoreID(id)
        let record = try self.store.datastore(id: id)
        let keys = try? self.directory.keys(datastoreID: id)
        try self.store.markDeleting(id: id)
        self.directory.forget(datastoreID: id)
        try self.store.destroyDatastore(id: id)
        if let keyARN = record.encryption.kmsKeyARN {
            do {
                try await self.keyService.retireGrants(
                    named: Self.grantName(datastoreID: id), keyARN: keyARN, servicePrincipal: self.settings.servicePrincipal)
            } catch {
                self.logger.warning("cannot retire the grant of a deleted datastore", metadata: ["datastore": "\(id)", "error": "\(error)"])
            }
        }
        if let serviceKey = keys?.serviceOwnedKeyARN {
            do {
                try await self.keyService.scheduleServiceOwnedKeyDeletion(
                    keyARN: serviceKey, pendingWindowInDays: self.settings.serviceKeyDeletionWindowDays)
            } catch {
                self.logger.warning("cannot schedule deletion of a service-owned key", metadata: ["datastore": "\(id)", "error": "\(error)"])
            }
        }
        self.logger.info("deleted datastore", metadata: ["datastore": "\(id)"])
        return try self.store.datastore(id: id)
    }

    // MARK: - Resources

    /// Creates a resource with a server-assigned id (any id in `json` is replaced).
    ///
    /// - Throws: `FHIRValidationError`, `DataStoreError`, ``KMSKeyAccessError``.
    public func create(datastoreID: String, json: [UInt8]) async throws -> StoredResource {
        let record = try self.activeDatastore(datastoreID)
        let resource = try self.parse(json)
        return try await self.write(resource, record: record, id: UUID().uuidString.lowercased(), version: 1, created: true)
    }

    /// Updates a resource, or creates it with the client's id (update-as-create).
    ///
    /// - Parameter ifMatch: When given, the update succeeds only if it is the current version
    ///   (`3` or `W/"3"`).
    /// - Throws: `DataStoreError` `versionConflict` (also when a concurrent write won),
    ///   `FHIRValidationError`, ``HealthLakeError`` `ValidationException` when the type or id
    ///   disagree with the resource, ``KMSKeyAccessError``.
    public func update(datastoreID: String, resourceType: String, id: String, json: [UInt8], ifMatch: String?) async throws -> StoredResource {
        let record = try self.activeDatastore(datastoreID)
        let type = try Self.resourceType(resourceType)
        try Self.requireValidID(id)
        let resource = try self.parse(json)
        guard resource.resourceType == type else {
            throw HealthLakeError(code: .validation, message: "the resource is a \(resource.resourceType.name), the request names \(type.name)")
        }
        if let bodyID = resource.id, bodyID != id {
            throw HealthLakeError(code: .validation, message: "the resource id \(bodyID) differs from the id in the request, \(id)")
        }
        let current = try self.store.currentVersion(datastoreID: datastoreID, resourceType: type, resourceID: id)
        if let ifMatch, !ifMatch.isEmpty {
            let expected = String(try Self.expectedVersion(ifMatch: ifMatch))
            guard let current, String(current.versionID) == expected else {
                throw DataStoreError(
                    code: .versionConflict,
                    message: "\(type.name)/\(id) is at version \(current.map { String($0.versionID) } ?? "none"), not \(expected)")
            }
        }
        let version = (current?.versionID ?? 0) + 1
        return try await self.write(resource, record: record, id: id, version: version, created: current == nil || current?.isDeleted == true)
    }

    /// Seals and indexes a version, concurrently asking kmsd for the data keys and the index
    /// key, and commits it with its tokens in one transaction.
    private func write(_ resource: FHIRResource, record: DatastoreRecord, id: String, version: Int, created: Bool) async throws -> StoredResource {
        let lastUpdated = Self.now()
        let stored = resource.settingServerManagedElements(
            id: id, versionID: String(version), lastUpdated: FHIRInstant.format(millisecondsSince1970: lastUpdated))
        let plaintext = stored.serialized()
        let context = EncryptionContext(datastoreID: record.id, resourceType: stored.resourceType.name, resourceID: id, versionID: String(version))
        async let sealing = self.cipher.seal(plaintext, context: context, layers: record.encryption.layers)
        async let indexing = self.index(for: record)
        let tokens = try await indexing.extractTokens(from: stored)
        let sealed = try await sealing
        try await self.store.groupCommit([
            ResourceWrite(
                datastoreID: record.id, resourceType: stored.resourceType, resourceID: id, versionID: version, lastUpdated: lastUpdated,
                content: .sealed(sealed), tokens: tokens)
        ])
        return StoredResource(json: plaintext, resourceType: stored.resourceType, id: id, versionID: version, lastUpdated: lastUpdated, created: created)
    }

    /// The current version (or `versionID`) of a resource, decrypted.
    ///
    /// - Throws: `DataStoreError` `notFound` (also for a deleted resource or a deletion
    ///   version), `decryptionFailed` when the stored ciphertext is not this row's, ``KMSKeyAccessError``.
    public func read(datastoreID: String, resourceType: String, id: String, versionID: String? = nil) async throws -> StoredResource {
        _ = try self.activeDatastore(datastoreID)
        let type = try Self.resourceType(resourceType)
        try Self.requireValidID(id)
        var version: Int?
        if let versionID {
            guard let number = Int(versionID), number >= 1 else {
                throw HealthLakeError(code: .validation, message: "a version id is a positive integer, got \"\(versionID.prefix(32))\"")
            }
            version = number
        }
        let stored = try self.store.read(datastoreID: datastoreID, resourceType: type, resourceID: id, versionID: version)
        guard !stored.isDeleted else {
            throw DataStoreError(code: .notFound, message: "\(type.name)/\(id) was deleted (version \(stored.versionID))")
        }
        return try await self.open(stored, datastoreID: datastoreID)
    }

    /// Deletes a resource (a deletion version; history is kept).
    ///
    /// Like every write it needs the datastore's keys: the index key is unwrapped first, so a
    /// revoked key refuses deletions too.
    ///
    /// - Returns: The deletion version, or `nil` when the resource did not exist or was already deleted.
    public func delete(datastoreID: String, resourceType: String, id: String) async throws -> Int? {
        let record = try self.activeDatastore(datastoreID)
        let type = try Self.resourceType(resourceType)
        try Self.requireValidID(id)
        guard let current = try self.store.currentVersion(datastoreID: datastoreID, resourceType: type, resourceID: id), !current.isDeleted else {
            return nil
        }
        _ = try await self.index(for: record)
        let version = current.versionID + 1
        try await self.store.groupCommit([
            ResourceWrite(
                datastoreID: datastoreID, resourceType: type, resourceID: id, versionID: version, lastUpdated: Self.now(), content: .deleted,
                tokens: [])
        ])
        return version
    }

    /// Versions, newest first: of one resource, one type, or the whole datastore.
    public func history(datastoreID: String, resourceType: String?, id: String?, count: Int) async throws -> [HistoryEntry] {
        _ = try self.activeDatastore(datastoreID)
        let type = try resourceType.map(Self.resourceType)
        if let id {
            guard type != nil else {
                throw HealthLakeError(code: .validation, message: "a history request with an id needs the resource type")
            }
            try Self.requireValidID(id)
        }
        let limit = try self.pageSize(count)
        let versions = try self.store.history(datastoreID: datastoreID, resourceType: type, resourceID: id, limit: limit)
        return try await self.concurrentlyMap(versions) { stored in
            if stored.isDeleted {
                let empty = StoredResource(
                    json: [], resourceType: stored.resourceType, id: stored.resourceID, versionID: stored.versionID,
                    lastUpdated: stored.lastUpdated, created: false)
                return HistoryEntry(version: empty, isDeleted: true)
            }
            return HistoryEntry(version: try await self.open(stored, datastoreID: datastoreID), isDeleted: false)
        }
    }

    // MARK: - Helpers

    func activeDatastore(_ id: String) throws -> DatastoreRecord {
        try Self.requireValidDatastoreID(id)
        let record = try self.store.datastore(id: id)
        guard record.status == .active, record.wrappedIndexKey != nil else {
            throw DataStoreError(code: .datastoreNotActive, message: "datastore \(id) is \(record.status.rawValue)")
        }
        return record
    }

    /// The datastore's blind index, its key unwrapped by kmsd after this call began (never
    /// cached): shared with the concurrent requests of the same unwrap when
    /// ``FHIRServiceSettings/shareIndexKeyUnwraps`` is on, else unwrapped for this call alone.
    func index(for record: DatastoreRecord) async throws -> BlindIndex {
        guard let wrapped = record.wrappedIndexKey else {
            throw DataStoreError(code: .datastoreNotActive, message: "datastore \(record.id) has no index key")
        }
        let key =
            self.settings.shareIndexKeyUnwraps
            ? try await self.indexKeyUnwraps.indexKey(unwrapping: wrapped, datastoreID: record.id)
            : try await self.cipher.indexKey(unwrapping: wrapped, datastoreID: record.id)
        return BlindIndex(key: key, table: self.table)
    }

    func open(_ stored: StoredVersion, datastoreID: String) async throws -> StoredResource {
        guard let sealed = stored.sealed else {
            throw DataStoreError(code: .notFound, message: "\(stored.resourceType.name)/\(stored.resourceID) version \(stored.versionID) is a deletion")
        }
        let json = try await self.cipher.open(sealed, context: stored.context(datastoreID: datastoreID))
        return StoredResource(
            json: json, resourceType: stored.resourceType, id: stored.resourceID, versionID: stored.versionID, lastUpdated: stored.lastUpdated,
            created: false)
    }

    private func parse(_ json: [UInt8]) throws -> FHIRResource {
        try FHIRResource.parse(json, table: self.table, limits: self.settings.validationLimits)
    }

    func pageSize(_ count: Int) throws -> Int {
        guard count >= 0 else { throw HealthLakeError(code: .validation, message: "_count must not be negative") }
        if count == 0 { return self.settings.defaultPageSize }
        return min(count, self.settings.maximumPageSize)
    }

    static func resourceType(_ name: String) throws -> FHIRResourceType {
        guard let type = FHIRResourceType(name) else {
            throw HealthLakeError(code: .validation, message: "\"\(name.prefix(64))\" is not a FHIR R4 resource type")
        }
        return type
    }

    /// Checks a datastore id's shape before any lookup: 1 to 32 characters from HealthLake's
    /// pattern, narrowed to ASCII letters, digits and `_ . : = + @ -` (no path separators or
    /// spaces). The value itself is never echoed: it may be large or hostile.
    ///
    /// - Throws: `HealthLakeError` `validation`.
    static func requireValidDatastoreID(_ id: String, field: String = "DatastoreId") throws {
        let utf8 = id.utf8
        guard (1...32).contains(utf8.count), utf8.allSatisfy(Self.isDatastoreIDByte) else {
            throw HealthLakeError(code: .validation, message: "\(field) must be 1 to 32 characters from A-Z, a-z, 0-9 and _ . : = + @ -")
        }
    }

    private static func isDatastoreIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "@"), UInt8(ascii: "-"): true
        default: false
        }
    }

    static func requireValidID(_ id: String) throws {
        guard FHIRResource.isValidID(id) else {
            throw HealthLakeError(code: .validation, message: "id must be 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'")
        }
    }

    static func now() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }

    /// Maps concurrently, keeping order.
    func concurrentlyMap<Element: Sendable, Result: Sendable>(
        _ elements: [Element], _ transform: @escaping @Sendable (Element) async throws -> Result
    ) async throws -> [Result] {
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            for (position, element) in elements.enumerated() {
                group.addTask { (position, try await transform(element)) }
            }
            var results = [Result?](repeating: nil, count: elements.count)
            for try await (position, result) in group { results[position] = result }
            return results.map { $0! }
        }
    }
}

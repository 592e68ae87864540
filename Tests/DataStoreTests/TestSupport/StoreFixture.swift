import Foundation
import GRDB

@testable import DataStore

/// A store in a temporary directory, a fake key service and an active datastore in it.
struct StoreFixture {
    let directory: TemporaryDirectory
    let store: ResourceStore
    let keys: FakeKeyService
    let cipher: EnvelopeCipher
    let datastore: DatastoreRecord

    init(datastoreID: String = "ds-1", encryption: EncryptionConfiguration = .customerManaged(keyARN: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")) async throws {
        self.directory = try TemporaryDirectory()
        self.store = try ResourceStore(path: self.directory.file("fhir.sqlite"))
        self.keys = FakeKeyService()
        self.cipher = EnvelopeCipher(provider: self.keys)
        self.datastore = try await Self.activeDatastore(self.store, self.cipher, id: datastoreID, encryption: encryption)
    }

    static func activeDatastore(_ store: ResourceStore, _ cipher: EnvelopeCipher, id: String, encryption: EncryptionConfiguration) async throws -> DatastoreRecord {
        try store.createDatastore(NewDatastore(id: id, name: "test \(id)", encryption: encryption))
        let (_, wrapped) = try await cipher.newIndexKey(datastoreID: id, layers: encryption.layers)
        try store.activateDatastore(id: id, wrappedIndexKey: wrapped)
        return try store.datastore(id: id)
    }

    /// The datastore's blind index, its key unwrapped through the key service.
    func index(_ datastore: DatastoreRecord? = nil) async throws -> BlindIndex {
        let record = datastore ?? self.datastore
        return BlindIndex(key: try await self.cipher.indexKey(unwrapping: record.wrappedIndexKey!, datastoreID: record.id))
    }

    /// Seals and indexes `resource` as version `versionID` of its id: the write fhird would make.
    func write(_ resource: FHIRResource, versionID: Int, index: BlindIndex, datastore: DatastoreRecord? = nil, lastUpdated: Int64 = 1_709_200_800_000) async throws -> ResourceWrite {
        let record = datastore ?? self.datastore
        let id = resource.id!
        let stored = resource.settingServerManagedElements(
            id: id, versionID: String(versionID), lastUpdated: FHIRInstant.format(millisecondsSince1970: lastUpdated)
        )
        let context = EncryptionContext(datastoreID: record.id, resourceType: resource.resourceType.name, resourceID: id, versionID: String(versionID))
        let sealed = try await self.cipher.seal(stored.serialized(), context: context, layers: record.encryption.layers)
        return ResourceWrite(
            datastoreID: record.id, resourceType: resource.resourceType, resourceID: id, versionID: versionID,
            lastUpdated: lastUpdated, content: .sealed(sealed), tokens: index.extractTokens(from: stored)
        )
    }

    /// Reads and opens a stored version.
    func open(_ version: StoredVersion, datastore: DatastoreRecord? = nil) async throws -> FHIRResource {
        let record = datastore ?? self.datastore
        let bytes = try await self.cipher.open(version.sealed!, context: version.context(datastoreID: record.id))
        return try FHIRResource.parse(bytes)
    }

    func remove() { self.directory.remove() }
}

extension ResourceStore {
    /// One integer from SQL (synchronous, so async tests do not pick GRDB's async overloads).
    func integer(_ sql: String) throws -> Int? {
        try self.database.read { try Int.fetchOne($0, sql: sql) }
    }

    /// One string from SQL.
    func string(_ sql: String) throws -> String? {
        try self.database.read { try String.fetchOne($0, sql: sql) }
    }

    /// Runs raw SQL in a write transaction.
    func execute(_ sql: String) throws {
        try self.database.write { try $0.execute(sql: sql) }
    }
}

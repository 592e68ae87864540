import DataServer
import DataStore
import Foundation
import KMS
import KeylakeDevPKI
import Logging
import Synchronization

/// Data keys from a ``KMS/KeyService`` in this process: the same key-service work as kmsd
/// (authorization, data-key generation and wrapping, audit event, group commit with
/// `synchronous=FULL`) without the RPC.
struct FHIRCLIInProcessKeys: DataKeyProvider {
    let keys: KeyService
    let principal: String
    let serviceOwnedKeyARN: String
    let customerManagedKeyARN: String?

    func generateDataKey(layer: KeyLayer, context: DataStore.EncryptionContext) async throws -> DataKey {
        let keyARN = layer == .customerManaged ? (self.customerManagedKeyARN ?? "") : self.serviceOwnedKeyARN
        let result = try await self.keys.generateDataKey(
            keyID: keyARN, keySpec: .aes256, encryptionContext: context.keyServicePairs,
            caller: CallerContext(principal: self.principal, requestID: RequestIDs.next()))
        var plaintext = result.plaintext ?? []
        return try DataKey(layer: layer, keyID: result.keyARN, wrapped: result.ciphertextBlob, plaintext: &plaintext)
    }

    func decryptDataKey(layer: KeyLayer, keyID: String, wrapped: [UInt8], context: DataStore.EncryptionContext) async throws -> [UInt8] {
        try await self.keys.decrypt(
            ciphertextBlob: wrapped, keyID: keyID, encryptionContext: context.keyServicePairs,
            caller: CallerContext(principal: self.principal, requestID: RequestIDs.next())
        ).plaintext
    }
}

/// The in-process baseline of `keylake bench fhir`: what fhird does for a create or a read —
/// parse and validate, server-managed `id`/`meta`, envelope sealing under fresh data keys
/// (one per layer, concurrently) and blind-index tokens under the unwrapped index key, one
/// SQLite transaction shared by concurrent writes (group commit, as fhird) with
/// `synchronous=FULL`; or read, unwrap and open — with the data keys from a key service in the
/// same process instead of kmsd over mTLS.
final class FHIRCLIBenchBaseline: Sendable {
    /// Where a create's time goes: total microseconds in each stage, summed over creates.
    struct Stages: Sendable {
        /// Parsing, validation and serialization.
        var parseMicroseconds = 0
        /// Sealing and index tokens, waiting for the key service's data keys.
        var keysMicroseconds = 0
        /// The group commit of the resource store.
        var commitMicroseconds = 0
        var creates = 0
    }

    private let stages = Mutex(Stages())
    /// The stage totals so far.
    var stageTotals: Stages { self.stages.withLock { $0 } }

    let store: ResourceStore
    let keys: KeyService
    let cipher: EnvelopeCipher
    let datastoreID: String
    /// Concurrent creates share an index-key unwrap that started after they began, as in fhird
    /// (`FHIRServiceSettings.shareIndexKeyUnwraps`, on by default).
    let indexKeys: IndexKeyUnwrapCoalescer

    /// Makes a key service, a resource store and one active datastore under `directory`.
    init(directory: String, customerManaged: Bool) async throws {
        var logger = Logger(label: "keylake.bench.baseline")
        logger.logLevel = .error
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let rootKey = try RootKey.create(at: "\(directory)/root.key")
        self.keys = try KeyService(
            path: "\(directory)/kms.sqlite", rootKey: rootKey,
            configuration: KeyServiceConfiguration(
                identity: try KeyServiceIdentity(region: "us-east-1", accountID: DevPKI.defaultAccount),
                servicePrincipals: [DevPKI.fhirdPrincipal]),
            logger: logger)
        let admin = DevPKI.adminPrincipal()
        func caller() -> CallerContext { CallerContext(principal: admin, requestID: RequestIDs.next()) }
        let serviceKey = try await self.keys.createKey(CreateKeyRequest(description: "bench service-owned layer"), caller: caller())
        let customerKey: String? =
            customerManaged
            ? try await self.keys.createKey(CreateKeyRequest(description: "bench customer-managed layer"), caller: caller()).arn : nil
        self.store = try ResourceStore(path: "\(directory)/fhird.sqlite", logger: logger)
        self.cipher = EnvelopeCipher(
            provider: FHIRCLIInProcessKeys(
                keys: self.keys, principal: admin, serviceOwnedKeyARN: serviceKey.arn, customerManagedKeyARN: customerKey))
        let cipher = self.cipher
        self.indexKeys = IndexKeyUnwrapCoalescer { wrapped, datastoreID in
            try await cipher.indexKey(unwrapping: wrapped, datastoreID: datastoreID)
        }
        self.datastoreID = String(UUID().uuidString.lowercased().filter { $0 != "-" })
        let encryption: EncryptionConfiguration = customerKey.map { .customerManaged(keyARN: $0) } ?? .serviceOwned
        _ = try self.store.createDatastore(NewDatastore(id: self.datastoreID, name: "bench-baseline", encryption: encryption))
        let (_, wrapped) = try await self.cipher.newIndexKey(datastoreID: self.datastoreID, layers: encryption.layers)
        try self.store.activateDatastore(id: self.datastoreID, wrappedIndexKey: wrapped)
    }

    /// Creates `json` as a new resource; returns its type and id.
    func create(_ json: [UInt8]) async throws -> (type: FHIRResourceType, id: String) {
        let clock = ContinuousClock()
        let started = clock.now
        let record = try self.store.datastore(id: self.datastoreID)
        let resource = try FHIRResource.parse(json)
        let id = UUID().uuidString.lowercased()
        let lastUpdated = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let stored = resource.settingServerManagedElements(
            id: id, versionID: "1", lastUpdated: FHIRInstant.format(millisecondsSince1970: lastUpdated))
        let plaintext = stored.serialized()
        let context = DataStore.EncryptionContext(datastoreID: record.id, resourceType: stored.resourceType.name, resourceID: id, versionID: "1")
        guard let wrappedIndexKey = record.wrappedIndexKey else { throw CLIError("the baseline datastore has no index key") }
        let parsed = clock.now
        async let sealing = self.cipher.seal(plaintext, context: context, layers: record.encryption.layers)
        async let indexKey = self.indexKeys.indexKey(unwrapping: wrappedIndexKey, datastoreID: record.id)
        let tokens = BlindIndex(key: try await indexKey).extractTokens(from: stored)
        let sealed = try await sealing
        let keyed = clock.now
        try await self.store.groupCommit([
            ResourceWrite(
                datastoreID: record.id, resourceType: stored.resourceType, resourceID: id, versionID: 1, lastUpdated: lastUpdated,
                content: .sealed(sealed), tokens: tokens)
        ])
        let committed = clock.now
        self.stages.withLock {
            $0.parseMicroseconds += Self.microseconds(parsed - started)
            $0.keysMicroseconds += Self.microseconds(keyed - parsed)
            $0.commitMicroseconds += Self.microseconds(committed - keyed)
            $0.creates += 1
        }
        return (stored.resourceType, id)
    }

    static func microseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds) * 1_000_000 + Int(duration.components.attoseconds / 1_000_000_000_000)
    }

    /// Reads and opens the current version of a resource.
    func read(type: FHIRResourceType, id: String) async throws -> [UInt8] {
        let record = try self.store.datastore(id: self.datastoreID)
        guard record.status == .active else { throw CLIError("the baseline datastore is not active") }
        let stored = try self.store.read(datastoreID: self.datastoreID, resourceType: type, resourceID: id)
        guard let sealed = stored.sealed else { throw CLIError("\(type.name)/\(id) is deleted") }
        return try await self.cipher.open(sealed, context: stored.context(datastoreID: self.datastoreID))
    }
}

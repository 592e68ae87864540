public import DataStore
import Synchronization

/// The key ARNs of one datastore's layers.
public struct DatastoreKeys: Hashable, Sendable {
    /// The datastore's service-owned key.
    public var serviceOwnedKeyARN: String
    /// The customer-managed key, if the datastore has one.
    public var customerManagedKeyARN: String?

    /// Creates the key set.
    public init(serviceOwnedKeyARN: String, customerManagedKeyARN: String?) {
        self.serviceOwnedKeyARN = serviceOwnedKeyARN
        self.customerManagedKeyARN = customerManagedKeyARN
    }

    /// The key of `layer`.
    ///
    /// - Throws: ``DataStoreError`` `invalidDataKey` for a customer-managed layer of a
    ///   service-owned datastore.
    public func keyARN(for layer: KeyLayer) throws -> String {
        switch layer {
        case .serviceOwned: return self.serviceOwnedKeyARN
        case .customerManaged:
            guard let arn = self.customerManagedKeyARN else {
                throw DataStoreError(code: .invalidDataKey, message: "the datastore has no customer-managed key")
            }
            return arn
        }
    }
}

/// Which key service keys protect which datastore: key ARNs only, never key material.
///
/// The store keeps no column for the service-owned key, but every active datastore's wrapped
/// index key records the key of each layer, so a datastore not yet seen since start is looked
/// up there once. Datastores being created are registered before their index key exists.
public final class DatastoreKeyDirectory: Sendable {
    private let store: ResourceStore
    private let known = Mutex<[String: DatastoreKeys]>([:])

    /// Creates a directory over a store.
    public init(store: ResourceStore) {
        self.store = store
    }

    /// Records the keys of a datastore being created.
    public func register(datastoreID: String, keys: DatastoreKeys) {
        self.known.withLock { $0[datastoreID] = keys }
    }

    /// Forgets a datastore (deleted, or its creation failed).
    public func forget(datastoreID: String) {
        self.known.withLock { $0[datastoreID] = nil }
    }

    /// The keys of a datastore.
    ///
    /// - Throws: ``DataStoreError`` `notFound`, or `datastoreNotActive` when it has no index key.
    public func keys(datastoreID: String) throws -> DatastoreKeys {
        if let keys = self.known.withLock({ $0[datastoreID] }) { return keys }
        let record = try self.store.datastore(id: datastoreID)
        guard let wrapped = record.wrappedIndexKey,
            let service = wrapped.layers.first(where: { $0.layer == .serviceOwned })
        else {
            throw DataStoreError(code: .datastoreNotActive, message: "datastore \(datastoreID) is \(record.status.rawValue)")
        }
        let keys = DatastoreKeys(
            serviceOwnedKeyARN: service.keyID,
            customerManagedKeyARN: wrapped.layers.first(where: { $0.layer == .customerManaged })?.keyID)
        self.known.withLock { $0[datastoreID] = keys }
        return keys
    }
}

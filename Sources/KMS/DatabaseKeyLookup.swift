import GRDB

/// Reads keys, policies, aliases, grants and material from the key store inside a transaction.
///
/// When a ``KeyDirectory/Loader`` is given, everything read is also recorded so that the
/// directory can keep it (see ``KeyDirectory/install(_:)``).
struct DatabaseKeyLookup: KeyLookup {
    let db: Database
    let store: KeyStore
    var loader: KeyDirectory.Loader?

    init(_ db: Database, store: KeyStore, loader: KeyDirectory.Loader? = nil) {
        self.db = db
        self.store = store
        self.loader = loader
    }

    func aliasTarget(_ name: String) throws -> KeyID? {
        let target = try KeyStore.aliasTarget(self.db, name: name)
        if let target { self.loader?.record(alias: name, target: target) }
        return target
    }

    func key(_ id: KeyID) throws -> KeyMetadata {
        let key = try KeyStore.fetchKey(self.db, id)
        self.loader?.record(key: key)
        return key
    }

    func policy(_ id: KeyID) throws -> KeyPolicy {
        let policy = try self.store.policy(self.db, keyID: id)
        self.loader?.record(policy: policy, for: id)
        return policy
    }

    func grants(_ id: KeyID, grantee principal: String) throws -> [Grant] {
        let grants = try KeyStore.grants(self.db, keyID: id, grantee: principal)
        self.loader?.record(grants: grants, keyID: id, grantee: principal)
        return grants
    }

    func material(_ id: KeyID, version: UInt32) throws -> KeyMaterial {
        let material = try self.store.material(self.db, keyID: id, version: version)
        self.loader?.record(material: material, keyID: id, version: version)
        return material
    }

    func wasDeleted(_ id: KeyID) throws -> Bool {
        try KeyStore.wasDeleted(self.db, id)
    }
}

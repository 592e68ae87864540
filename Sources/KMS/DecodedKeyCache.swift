import Synchronization

/// Parsed policies and unwrapped material, remembered between calls so that the hot path does
/// not re-parse JSON or re-run the root-key unwrap for every request.
///
/// Entries are keyed by what is stored (the policy document, the wrapped bytes), and every use
/// still reads that from the database in the caller's transaction, so a cached entry is used only
/// while the row it came from is unchanged: a new policy, a rotation or a deletion is seen at
/// once. Deleting a key also evicts its material, so shredded material does not linger here.
final class DecodedKeyCache: Sendable {
    private struct MaterialKey: Hashable {
        var keyID: KeyID
        var version: UInt32
    }

    private struct State: ~Copyable {
        var policies: [KeyID: (document: String, policy: KeyPolicy)] = [:]
        var materials: [MaterialKey: (wrapped: [UInt8], material: KeyMaterial)] = [:]
    }

    private let state = Mutex<State>(State())
    private let capacity: Int

    /// Creates a cache holding at most `capacity` policies and `capacity` material versions.
    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The parsed form of `document`, parsing it (with `parse`) only when it changed.
    func policy(_ keyID: KeyID, document: String, parse: (String) throws -> KeyPolicy) rethrows -> KeyPolicy {
        if let cached = self.state.withLock({ $0.policies[keyID] }), cached.document == document {
            return cached.policy
        }
        let policy = try parse(document)
        guard self.capacity > 0 else { return policy }
        self.state.withLock { state in
            if state.policies.count >= self.capacity { state.policies.removeAll(keepingCapacity: true) }
            state.policies[keyID] = (document, policy)
        }
        return policy
    }

    /// The unwrapped form of `wrapped`, unwrapping it (with `unwrap`) only when it changed.
    func material(_ keyID: KeyID, version: UInt32, wrapped: [UInt8], unwrap: () throws -> KeyMaterial) rethrows -> KeyMaterial {
        let key = MaterialKey(keyID: keyID, version: version)
        if let cached = self.state.withLock({ $0.materials[key] }), cached.wrapped == wrapped {
            return cached.material
        }
        let material = try unwrap()
        guard self.capacity > 0 else { return material }
        self.state.withLock { state in
            if state.materials.count >= self.capacity { state.materials.removeAll(keepingCapacity: true) }
            state.materials[key] = (wrapped, material)
        }
        return material
    }

    /// Forgets everything about a key (after deletion).
    func evict(_ keyID: KeyID) {
        self.state.withLock { state in
            state.policies[keyID] = nil
            state.materials = state.materials.filter { $0.key.keyID != keyID }
        }
    }
}

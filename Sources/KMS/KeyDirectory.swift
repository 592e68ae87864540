import Synchronization

/// Keys, policies, aliases, grants and unwrapped material in memory, so that the cryptographic
/// operations authorise without a database read and outside the single writer.
///
/// What the directory holds is always the **current committed state**: every change to keys,
/// policies, aliases or grants is bracketed by ``beginChange()`` (before its transaction can
/// commit) and ``endChange()`` (after the commit, before the changing call returns). Both empty
/// the directory and move its *generation* on, and while a change is in progress nothing is
/// kept. What a read of the database brings in is kept only if no change began or ended while
/// it ran (same generation before and after, none in progress when it started). So:
///
/// - no commit can happen between two reads whose results are both kept in one generation:
///   everything in the directory at a moment describes the same, current state;
/// - once `RevokeGrant`, `RetireGrant`, `DisableKey`, `ScheduleKeyDeletion`, `PutKeyPolicy`,
///   `DeleteAlias` and the like return, nothing from before them is left to authorise a call.
///
/// A call that finds what it needs here uses one ``snapshot()``; otherwise it reads everything
/// in one database read transaction (a consistent snapshot) and offers the result with
/// ``install(_:)``. Either way each call decides on one consistent state, taken while it runs.
final class KeyDirectory: Sendable {
    struct MaterialSlot: Hashable, Sendable {
        var keyID: KeyID
        var version: UInt32
    }

    struct GrantSlot: Hashable, Sendable {
        var keyID: KeyID
        var grantee: String
    }

    /// What the directory holds: one consistent state, as far as it was read.
    struct Contents: Sendable {
        var keys: [KeyID: KeyMetadata] = [:]
        var policies: [KeyID: KeyPolicy] = [:]
        var materials: [MaterialSlot: KeyMaterial] = [:]
        var aliases: [String: KeyID] = [:]
        var grants: [GrantSlot: [Grant]] = [:]
        /// Entries held; a grant list counts each grant.
        var entryCount = 0

        var isEmpty: Bool { self.entryCount == 0 }
    }

    /// Records what one read transaction finds, to be offered to the directory afterwards.
    final class Loader: Sendable {
        let generation: UInt64
        let mayInstall: Bool
        private let found = Mutex<Contents>(Contents())

        fileprivate init(generation: UInt64, mayInstall: Bool) {
            self.generation = generation
            self.mayInstall = mayInstall
        }

        func record(key: KeyMetadata) {
            self.found.withLock { if $0.keys.updateValue(key, forKey: key.keyID) == nil { $0.entryCount += 1 } }
        }

        func record(policy: KeyPolicy, for keyID: KeyID) {
            self.found.withLock { if $0.policies.updateValue(policy, forKey: keyID) == nil { $0.entryCount += 1 } }
        }

        func record(material: KeyMaterial, keyID: KeyID, version: UInt32) {
            self.found.withLock {
                if $0.materials.updateValue(material, forKey: MaterialSlot(keyID: keyID, version: version)) == nil { $0.entryCount += 1 }
            }
        }

        func record(alias: String, target: KeyID) {
            self.found.withLock { if $0.aliases.updateValue(target, forKey: alias) == nil { $0.entryCount += 1 } }
        }

        func record(grants: [Grant], keyID: KeyID, grantee: String) {
            self.found.withLock {
                let previous = $0.grants.updateValue(grants, forKey: GrantSlot(keyID: keyID, grantee: grantee))
                $0.entryCount += max(1, grants.count) - (previous.map { max(1, $0.count) } ?? 0)
            }
        }

        var contents: Contents { self.found.withLock { $0 } }
    }

    private struct State: ~Copyable {
        var generation: UInt64 = 0
        var changesInProgress = 0
        var contents = Contents()
    }

    private let state = Mutex<State>(State())

    /// The most entries held (``KeyStoreLimits/maximumDirectoryEntries``); when a read would pass
    /// it, the directory starts over. 0 keeps nothing: every call reads the database.
    let capacity: Int

    /// Creates an empty directory holding at most `capacity` entries.
    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The current state as far as it is held, or `nil` while a change is in progress.
    func snapshot() -> Contents? {
        self.state.withLock { state in
            state.changesInProgress == 0 && !state.contents.isEmpty ? state.contents : nil
        }
    }

    /// A recorder for one read transaction; start it before the read begins.
    func loader() -> Loader {
        self.state.withLock { state in
            Loader(generation: state.generation, mayInstall: state.changesInProgress == 0 && self.capacity > 0)
        }
    }

    /// Keeps what `loader` recorded, if no change began or ended since it was made.
    ///
    /// - Returns: Whether it was kept.
    @discardableResult
    func install(_ loader: Loader) -> Bool {
        guard loader.mayInstall else { return false }
        let found = loader.contents
        return self.state.withLock { state in
            guard state.generation == loader.generation, state.changesInProgress == 0 else { return false }
            if state.contents.entryCount + found.entryCount > self.capacity {
                // Still the same committed state, so starting over keeps nothing stale.
                state.contents = Contents()
                guard found.entryCount <= self.capacity else { return false }
            }
            var contents = state.contents
            state.contents = Contents()
            Self.merge(found, into: &contents)
            state.contents = contents
            return true
        }
    }

    /// Marks the start of a change to keys, policies, aliases or grants: empties the directory
    /// and keeps nothing until the matching ``endChange()``. Call it before the change's
    /// transaction can commit.
    func beginChange() {
        self.state.withLock { state in
            state.generation &+= 1
            state.changesInProgress += 1
            state.contents = Contents()
        }
    }

    /// Marks the end of a change begun with ``beginChange()``, after its transaction committed
    /// or failed and before the changing call returns.
    func endChange() {
        self.state.withLock { state in
            state.generation &+= 1
            state.changesInProgress -= 1
            state.contents = Contents()
        }
    }

    /// Runs `body` as one change (``beginChange()`` … ``endChange()``).
    func change<Value>(_ body: () throws -> Value) rethrows -> Value {
        self.beginChange()
        defer { self.endChange() }
        return try body()
    }

    /// Runs `body` as one change (``beginChange()`` … ``endChange()``).
    func change<Value>(_ body: () async throws -> Value) async rethrows -> Value {
        self.beginChange()
        defer { self.endChange() }
        return try await body()
    }

    private static func merge(_ found: Contents, into contents: inout Contents) {
        for (id, key) in found.keys where contents.keys.updateValue(key, forKey: id) == nil { contents.entryCount += 1 }
        for (id, policy) in found.policies where contents.policies.updateValue(policy, forKey: id) == nil { contents.entryCount += 1 }
        for (slot, material) in found.materials where contents.materials.updateValue(material, forKey: slot) == nil {
            contents.entryCount += 1
        }
        for (name, target) in found.aliases where contents.aliases.updateValue(target, forKey: name) == nil { contents.entryCount += 1 }
        for (slot, grants) in found.grants {
            let previous = contents.grants.updateValue(grants, forKey: slot)
            contents.entryCount += max(1, grants.count) - (previous.map { max(1, $0.count) } ?? 0)
        }
    }
}

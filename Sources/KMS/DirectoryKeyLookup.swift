/// Answers from a ``KeyDirectory`` snapshot only; anything not held throws
/// ``KeyDirectoryMiss`` and the call reads the database instead.
struct DirectoryKeyLookup: KeyLookup {
    let contents: KeyDirectory.Contents

    func aliasTarget(_ name: String) throws -> KeyID? {
        guard let target = self.contents.aliases[name] else { throw KeyDirectoryMiss() }
        return target
    }

    func key(_ id: KeyID) throws -> KeyMetadata {
        guard let key = self.contents.keys[id] else { throw KeyDirectoryMiss() }
        return key
    }

    func policy(_ id: KeyID) throws -> KeyPolicy {
        guard let policy = self.contents.policies[id] else { throw KeyDirectoryMiss() }
        return policy
    }

    func grants(_ id: KeyID, grantee principal: String) throws -> [Grant] {
        guard let grants = self.contents.grants[KeyDirectory.GrantSlot(keyID: id, grantee: principal)] else { throw KeyDirectoryMiss() }
        return grants
    }

    func material(_ id: KeyID, version: UInt32) throws -> KeyMaterial {
        guard let material = self.contents.materials[KeyDirectory.MaterialSlot(keyID: id, version: version)] else {
            throw KeyDirectoryMiss()
        }
        return material
    }

    func wasDeleted(_ id: KeyID) throws -> Bool {
        throw KeyDirectoryMiss()
    }
}

/// Where the key service reads the keys, policies, aliases, grants and material an operation
/// needs: the database inside the operation's transaction (``DatabaseKeyLookup``), or the
/// in-memory ``KeyDirectory`` on the cryptographic fast path (``DirectoryKeyLookup``).
///
/// Authorization and key-state checks are written once, generic over this protocol, so both
/// paths decide exactly alike.
protocol KeyLookup {
    /// The key an alias points at, or `nil` when there is no such alias.
    func aliasTarget(_ name: String) throws -> KeyID?
    /// The key's metadata.
    ///
    /// - Throws: ``KMSError`` `NotFoundException` when the key does not exist.
    func key(_ id: KeyID) throws -> KeyMetadata
    /// The key's policy, parsed.
    func policy(_ id: KeyID) throws -> KeyPolicy
    /// The grants of a key whose grantee is `principal`.
    func grants(_ id: KeyID, grantee principal: String) throws -> [Grant]
    /// One version of a key's material, unwrapped.
    func material(_ id: KeyID, version: UInt32) throws -> KeyMaterial
    /// Whether a key with this id existed and was deleted at the end of its waiting period.
    func wasDeleted(_ id: KeyID) throws -> Bool
}

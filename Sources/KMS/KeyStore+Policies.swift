import GRDB

extension KeyStore {
    /// The key's policy, parsed from the stored document.
    ///
    /// - Throws: ``KMSError`` `NotFoundException` if the key does not exist.
    public func policy(for keyID: KeyID) throws -> KeyPolicy {
        let document = try self.database.read { db in
            try String.fetchOne(
                db,
                sql: "SELECT document FROM key_policy WHERE key_id = ? AND name = ?",
                arguments: [keyID.description, KeyPolicy.defaultName]
            )
        }
        guard let document else { throw KMSError.notFound("key \(keyID) does not exist") }
        do {
            return try KeyPolicy(parsing: document)
        } catch {
            throw KMSError.internalFailure("the stored policy of key \(keyID) no longer parses", cause: error)
        }
    }

    /// Replaces the key's policy; the document is stored verbatim.
    ///
    /// - Throws: ``KMSError`` `NotFoundException` if the key does not exist.
    public func putPolicy(_ policy: KeyPolicy, for keyID: KeyID) throws {
        try self.directory.change {
            try self.database.write { db in
                try db.execute(
                    sql: "UPDATE key_policy SET document = ? WHERE key_id = ? AND name = ?",
                    arguments: [policy.document, keyID.description, KeyPolicy.defaultName]
                )
                guard db.changesCount == 1 else { throw KMSError.notFound("key \(keyID) does not exist") }
            }
        }
    }
}

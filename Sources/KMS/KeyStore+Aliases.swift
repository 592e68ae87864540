import GRDB

extension KeyStore {
    /// The longest alias name AWS KMS accepts, including the `alias/` prefix.
    public static let maximumAliasNameCharacters = 256

    /// Creates `alias/…` pointing at a key.
    ///
    /// - Throws: ``KMSError`` `InvalidAliasNameException` for a name that is not
    ///   `alias/[a-zA-Z0-9/_-]+` or starts with the reserved `alias/aws/`; `AlreadyExistsException`
    ///   if the alias exists; `NotFoundException` if the key does not.
    public func createAlias(_ name: String, for keyID: KeyID) throws {
        try Self.validateAliasName(name)
        let now = Self.milliseconds(self.clock.now())
        self.directory.beginChange()
        defer { self.directory.endChange() }
        try self.database.write { db in
            _ = try Self.fetchKey(db, keyID)
            guard try !Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM alias WHERE name = ?)", arguments: [name])! else {
                throw KMSError(code: .alreadyExists, message: "alias \(name) already exists")
            }
            try db.execute(
                sql: "INSERT INTO alias (name, key_id, creation_date, last_updated_date) VALUES (?, ?, ?, ?)",
                arguments: [name, keyID.description, now, now]
            )
        }
    }

    /// The key an alias points at.
    ///
    /// - Throws: ``KMSError`` `NotFoundException` if the alias does not exist.
    public func resolveAlias(_ name: String) throws -> KeyID {
        let stored = try self.database.read { db in
            try String.fetchOne(db, sql: "SELECT key_id FROM alias WHERE name = ?", arguments: [name])
        }
        guard let stored, let keyID = KeyID(stored) else { throw KMSError.notFound("alias \(name) does not exist") }
        return keyID
    }

    /// Deletes an alias; the key is unaffected.
    ///
    /// - Throws: ``KMSError`` `NotFoundException` if the alias does not exist.
    public func deleteAlias(_ name: String) throws {
        self.directory.beginChange()
        defer { self.directory.endChange() }
        try self.database.write { db in
            try db.execute(sql: "DELETE FROM alias WHERE name = ?", arguments: [name])
            guard db.changesCount == 1 else { throw KMSError.notFound("alias \(name) does not exist") }
        }
    }

    static func validateAliasName(_ name: String) throws {
        guard name.hasPrefix("alias/"), name.count > "alias/".count, name.count <= Self.maximumAliasNameCharacters,
            name.dropFirst("alias/".count).allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/_-".contains($0)) })
        else {
            throw KMSError(code: .invalidAliasName, message: "alias names are alias/ followed by 1 to 250 of a-z A-Z 0-9 / _ -")
        }
        guard !name.hasPrefix("alias/aws/") else {
            throw KMSError(code: .invalidAliasName, message: "alias names beginning with alias/aws/ are reserved")
        }
    }
}

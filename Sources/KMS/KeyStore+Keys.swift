import Foundation
import GRDB

extension KeyStore {
    /// Creates a key with fresh material (version 1) and its policy, in one transaction.
    ///
    /// - Throws: ``KMSError`` `ValidationException` for a description over the limit or an owner
    ///   service that does not fit the kind.
    public func createKey(_ request: NewKeyRequest) throws -> KeyMetadata {
        try self.directory.change { try self.database.write { db in try self.insertKey(db, request) } }
    }

    /// The body of ``createKey(_:)``, inside the caller's transaction.
    func insertKey(_ db: Database, _ request: NewKeyRequest) throws -> KeyMetadata {
        guard request.description.count <= self.limits.maximumDescriptionCharacters else {
            throw KMSError.validation("description is longer than \(self.limits.maximumDescriptionCharacters) characters")
        }
        guard (request.kind == .serviceOwned) == (request.ownerService != nil) else {
            throw KMSError.validation("a service-owned key needs an owner service, and only a service-owned key has one")
        }
        let keyID = KeyID.generate()
        let now = self.clock.now()
        let metadata = KeyMetadata(
            keyID: keyID,
            arn: self.identity.keyARN(keyID),
            kind: request.kind,
            ownerService: request.ownerService,
            state: .enabled,
            deletionDate: nil,
            description: request.description,
            creationDate: now,
            rotationEnabled: false,
            rotationPeriodInDays: nil,
            currentMaterialVersion: 1
        )
        let wrapped = try self.wrapper.wrap(KeyMaterial.generate(), keyID: keyID, version: 1)
        let policy = request.policy ?? KeyPolicy.defaultPolicy(accountID: self.identity.accountID, partition: self.identity.partition)
        try db.execute(
            sql: """
                INSERT INTO kms_key (id, arn, kind, owner_service, state, deletion_date, description,
                    creation_date, rotation_enabled, rotation_period_days, next_rotation_date, current_material_version)
                VALUES (?, ?, ?, ?, ?, NULL, ?, ?, 0, NULL, NULL, 1)
                """,
            arguments: [
                keyID.description, metadata.arn, metadata.kind.rawValue, metadata.ownerService,
                metadata.state.rawValue, metadata.description, Self.milliseconds(now),
            ]
        )
        try Self.insertMaterial(db, keyID: keyID, version: 1, wrapped: wrapped, date: now, rotationType: "INITIAL")
        try db.execute(
            sql: "INSERT INTO key_policy (key_id, name, document) VALUES (?, ?, ?)",
            arguments: [keyID.description, KeyPolicy.defaultName, policy.document]
        )
        return metadata
    }

    /// The metadata of a key.
    ///
    /// - Throws: ``KMSError`` `NotFoundException` if no such key exists.
    public func key(_ keyID: KeyID) throws -> KeyMetadata {
        try self.database.read { db in try Self.fetchKey(db, keyID) }
    }

    /// The material of one version of a key, unwrapped.
    ///
    /// - Throws: ``KMSError`` `NotFoundException` if the key or version does not exist (for
    ///   example, the key was deleted: its material is gone); `KMSInternalException` if the
    ///   stored record fails authentication.
    public func material(keyID: KeyID, version: UInt32) throws -> KeyMaterial {
        try self.database.read { db in try self.material(db, keyID: keyID, version: version) }
    }

    /// The body of ``material(keyID:version:)``, inside the caller's transaction.
    func material(_ db: Database, keyID: KeyID, version: UInt32) throws -> KeyMaterial {
        let stored = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT wrapped FROM key_material WHERE key_id = ? AND version = ?"),
            arguments: [keyID.description, Int64(version)]
        )
        guard let stored else {
            throw KMSError.notFound("key material version \(version) of key \(keyID) does not exist")
        }
        let wrapped = Array(stored)
        return try self.cache.material(keyID, version: version, wrapped: wrapped) {
            try self.wrapper.unwrap(try WrappedKeyMaterial(bytes: wrapped), keyID: keyID, version: version)
        }
    }

    /// Adds a new material version and makes it current; older versions keep decrypting.
    ///
    /// - Parameter onDemand: `true` for `RotateKeyOnDemand`, `false` for scheduled rotation.
    /// - Returns: The new version number.
    /// - Throws: ``KMSError`` `NotFoundException` if the key does not exist.
    @discardableResult
    public func rotate(keyID: KeyID, onDemand: Bool) throws -> UInt32 {
        try self.directory.change { try self.database.write { db in try self.rotate(db, keyID: keyID, onDemand: onDemand) } }
    }

    /// The body of ``rotate(keyID:onDemand:)``, inside the caller's transaction.
    func rotate(_ db: Database, keyID: KeyID, onDemand: Bool) throws -> UInt32 {
        let now = self.clock.now()
        let current = try Self.fetchKey(db, keyID).currentMaterialVersion
        guard current < UInt32.max else {
            throw KMSError(code: .limitExceeded, message: "key \(keyID) has no material versions left")
        }
        let next = current + 1
        let wrapped = try self.wrapper.wrap(KeyMaterial.generate(), keyID: keyID, version: next)
        try Self.insertMaterial(db, keyID: keyID, version: next, wrapped: wrapped, date: now, rotationType: onDemand ? "ON_DEMAND" : "AUTOMATIC")
        try db.execute(
            sql: "UPDATE kms_key SET current_material_version = ? WHERE id = ?",
            arguments: [Int64(next), keyID.description]
        )
        return next
    }

    /// Records a new lifecycle state and, for `PendingDeletion`, the deletion date.
    ///
    /// This is the storage step only: which transitions are allowed is the key service's rule.
    ///
    /// - Throws: ``KMSError`` `NotFoundException` if the key does not exist.
    public func setState(_ state: KeyState, deletionDate: Date?, for keyID: KeyID) throws {
        try self.directory.change { try self.database.write { db in try Self.setState(db, state, deletionDate: deletionDate, for: keyID) } }
    }

    /// The body of ``setState(_:deletionDate:for:)``, inside the caller's transaction.
    static func setState(_ db: Database, _ state: KeyState, deletionDate: Date?, for keyID: KeyID) throws {
        try db.execute(
            sql: "UPDATE kms_key SET state = ?, deletion_date = ? WHERE id = ?",
            arguments: [state.rawValue, deletionDate.map(Self.milliseconds), keyID.description]
        )
        guard db.changesCount == 1 else { throw KMSError.notFound("key \(keyID) does not exist") }
    }

    static func insertMaterial(
        _ db: Database,
        keyID: KeyID,
        version: UInt32,
        wrapped: WrappedKeyMaterial,
        date: Date,
        rotationType: String
    ) throws {
        try db.execute(
            sql: "INSERT INTO key_material (key_id, version, wrapped, creation_date, rotation_type) VALUES (?, ?, ?, ?, ?)",
            arguments: [keyID.description, Int64(version), Data(wrapped.bytes), Self.milliseconds(date), rotationType]
        )
    }

    static func fetchKey(_ db: Database, _ keyID: KeyID) throws -> KeyMetadata {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM kms_key WHERE id = ?"), arguments: [keyID.description]) else {
            throw KMSError.notFound("key \(keyID) does not exist")
        }
        guard let kind = KeyKind(rawValue: row["kind"]), let state = KeyState(rawValue: row["state"]) else {
            throw KMSError.internalFailure("key \(keyID) has an unreadable record")
        }
        let deletion: Int64? = row["deletion_date"]
        let period: Int64? = row["rotation_period_days"]
        let version: Int64 = row["current_material_version"]
        return KeyMetadata(
            keyID: keyID,
            arn: row["arn"],
            kind: kind,
            ownerService: row["owner_service"],
            state: state,
            deletionDate: deletion.map { Self.date(milliseconds: $0) },
            description: row["description"],
            creationDate: Self.date(milliseconds: row["creation_date"]),
            rotationEnabled: row["rotation_enabled"],
            rotationPeriodInDays: period.map { Int($0) },
            currentMaterialVersion: UInt32(version)
        )
    }
}

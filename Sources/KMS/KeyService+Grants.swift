import Crypto
import Foundation
import GRDB

/// What `CreateGrant` asks for.
public struct CreateGrantRequest: Hashable, Sendable {
    /// The key (id, ARN, alias or alias ARN).
    public var keyID: String
    /// Who the grant lets in.
    public var granteePrincipal: String
    /// Who may retire it.
    public var retiringPrincipal: String?
    /// Operation names, such as `Decrypt` and `GenerateDataKey`.
    public var operations: [String]
    /// Encryption context conditions.
    public var constraints: GrantConstraints
    /// A name, unique per key: a retry with the same name and parameters returns the same grant.
    public var name: String?
    /// Grant tokens; accepted and validated (grants here are immediately consistent anyway).
    public var grantTokens: [String]

    /// Creates a request.
    public init(
        keyID: String,
        granteePrincipal: String,
        retiringPrincipal: String? = nil,
        operations: [String],
        constraints: GrantConstraints = GrantConstraints(),
        name: String? = nil,
        grantTokens: [String] = []
    ) {
        self.keyID = keyID
        self.granteePrincipal = granteePrincipal
        self.retiringPrincipal = retiringPrincipal
        self.operations = operations
        self.constraints = constraints
        self.name = name
        self.grantTokens = grantTokens
    }
}

/// The result of `CreateGrant`.
public struct CreateGrantResult: Hashable, Sendable {
    /// The grant id.
    public var grantID: String
    /// A token naming the grant, for `RetireGrant` by token.
    public var grantToken: String
}

extension KeyService {
    static let grantTokenPrefix = "kgt1."

    /// `CreateGrant`.
    ///
    /// Authorised by the key policy (with `kms:GrantOperations`, `kms:GranteePrincipal`,
    /// `kms:RetiringPrincipal` and `kms:GrantIsForAWSResource`, true when a service acts for the
    /// caller), or by a grant of the caller's that includes `CreateGrant`, for no more operations
    /// and at least the same constraints.
    ///
    /// - Throws: ``KMSError`` `ValidationException` (bad operations, principals, name or
    ///   constraints), `NotFoundException`, `AccessDeniedException`, `DisabledException`,
    ///   `KMSInvalidStateException`, `LimitExceededException` past
    ///   ``KeyServiceLimits/maximumGrantsPerKey``, `AlreadyExistsException` for a name already
    ///   used with different parameters.
    public func createGrant(_ request: CreateGrantRequest, caller context: CallerContext) async throws -> CreateGrantResult {
        try await self.perform(.createGrant, context, requestParameters: ["keyId": .string(self.clipped(request.keyID))]) { db, caller, notes in
            let facts = try self.validateGrantRequest(request)
            notes.setParameter("granteePrincipal", .string(facts.granteePrincipal))
            if let retiring = facts.retiringPrincipal { notes.setParameter("retiringPrincipal", .string(retiring)) }
            notes.setParameter("operations", .array(facts.operations.map { .string($0.rawValue) }))
            if let name = request.name { notes.setParameter("name", .string(name)) }
            if let subset = facts.constraints.encryptionContextSubset {
                notes.setParameter("constraints", ["encryptionContextSubset": .object(subset.mapValues(AuditJSON.string))])
            } else if let equals = facts.constraints.encryptionContextEquals {
                notes.setParameter("constraints", ["encryptionContextEquals": .object(equals.mapValues(AuditJSON.string))])
            }
            let key = try self.visibleKey(db, request.keyID, caller: caller, notes: notes)
            try self.authorize(
                db, key, caller: caller, action: KMSOperation.createGrant.action, grantOperation: .createGrant,
                grantFacts: facts, notes: notes
            )
            try KMSOperation.createGrant.checkKeyState(key)
            let grant = Grant(
                grantID: Self.hex(SecureRandom.bytes(count: 32)),
                keyID: key.keyID,
                name: request.name,
                granteePrincipal: facts.granteePrincipal,
                retiringPrincipal: facts.retiringPrincipal,
                issuingAccount: caller.account ?? self.identity.accountID,
                operations: facts.operations,
                constraints: facts.constraints,
                creationDate: self.clock.now()
            )
            let token = Self.grantTokenPrefix + Self.base64URL(SecureRandom.bytes(count: 32))
            let tokenHash = Array(SHA256.hash(data: Array(token.utf8)))
            if let name = request.name, let existing = try KeyStore.grant(db, keyID: key.keyID, name: name) {
                guard existing.hasSameParameters(as: grant) else {
                    throw KMSError(code: .alreadyExists, message: "a grant named \(name) with other parameters exists on this key")
                }
                try KeyStore.insertGrantToken(db, grantID: existing.grantID, tokenHash: tokenHash)
                notes.respond(["grantId": .string(existing.grantID)])
                return CreateGrantResult(grantID: existing.grantID, grantToken: token)
            }
            guard try KeyStore.grantCount(db, keyID: key.keyID) < self.limits.maximumGrantsPerKey else {
                throw KMSError(code: .limitExceeded, message: "key \(key.keyID) has \(self.limits.maximumGrantsPerKey) grants")
            }
            try KeyStore.insertGrant(db, grant, tokenHash: tokenHash)
            notes.respond(["grantId": .string(grant.grantID)])
            return CreateGrantResult(grantID: grant.grantID, grantToken: token)
        }
    }

    /// `ListGrants`: the grants of one key, optionally one grant or one grantee's.
    ///
    /// - Throws: ``KMSError`` `NotFoundException`, `AccessDeniedException`,
    ///   `InvalidGrantIdException`, `ValidationException` (Limit), `InvalidMarkerException`.
    public func listGrants(
        keyID: String,
        grantID: String? = nil,
        granteePrincipal: String? = nil,
        limit: Int? = nil,
        marker: String? = nil,
        caller context: CallerContext
    ) async throws -> Page<Grant> {
        try await self.perform(.listGrants, context, requestParameters: ["keyId": .string(self.clipped(keyID))]) { db, caller, notes in
            let size = try self.pageSize(limit)
            if let grantID { try Self.validateGrantID(grantID) }
            if let marker { try Self.validateMarkerGrantID(marker) }
            let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: KMSOperation.listGrants.action, grantOperation: nil, notes: notes)
            let grants = try KeyStore.grants(db, keyID: key.keyID, after: marker).filter { grant in
                (grantID == nil || grant.grantID == grantID) && (granteePrincipal == nil || grant.granteePrincipal == granteePrincipal)
            }
            let entries = Array(grants.prefix(size))
            return Page(entries: entries, nextMarker: grants.count > size ? entries.last?.grantID : nil)
        }
    }

    /// `ListRetirableGrants`: grants on customer-managed keys whose retiring principal is
    /// `retiringPrincipal`. Customers need `kms:ListRetirableGrants` in the account policy; a
    /// registered service calling for itself may list its own.
    ///
    /// - Throws: ``KMSError`` `AccessDeniedException`, `ValidationException`,
    ///   `InvalidMarkerException`.
    public func listRetirableGrants(
        retiringPrincipal: String,
        limit: Int? = nil,
        marker: String? = nil,
        caller context: CallerContext
    ) async throws -> Page<Grant> {
        try await self.perform(.listRetirableGrants, context) { db, caller, notes in
            try self.validatePrincipal(retiringPrincipal, "RetiringPrincipal")
            notes.setParameter("retiringPrincipal", .string(retiringPrincipal))
            let size = try self.pageSize(limit)
            if let marker { try Self.validateMarkerGrantID(marker) }
            if caller.isServiceActingForItself {
                // A service may list the grants it can retire itself, and no others.
                guard retiringPrincipal == caller.peer else {
                    throw KMSError.accessDenied("\(caller.peer) may list only the grants it can retire")
                }
            } else {
                try self.authorizeAccountAction(KMSOperation.listRetirableGrants.action, caller: caller)
            }
            let grants = try KeyStore.retirableGrants(db, retiringPrincipal: retiringPrincipal, after: marker, limit: size + 1)
                .filter { grant in (try? KeyStore.fetchKey(db, grant.keyID).kind) == .customerManaged }
            let entries = Array(grants.prefix(size))
            return Page(entries: entries, nextMarker: grants.count > size ? entries.last?.grantID : nil)
        }
    }

    /// `RetireGrant`, by token or by key and grant id.
    ///
    /// Allowed for the grant's retiring principal, for its grantee when the grant includes
    /// `RetireGrant`, and for principals the key policy allows `kms:RetireGrant`. Once this
    /// returns, no call is authorised by the grant.
    ///
    /// - Throws: ``KMSError`` `InvalidGrantTokenException`, `InvalidGrantIdException`,
    ///   `ValidationException` (neither or half of key and grant id), `NotFoundException`,
    ///   `AccessDeniedException`.
    public func retireGrant(grantToken: String? = nil, keyID: String? = nil, grantID: String? = nil, caller context: CallerContext) async throws {
        var parameters: [String: AuditJSON] = [:]
        if let keyID { parameters["keyId"] = .string(self.clipped(keyID)) }
        if let grantID { parameters["grantId"] = .string(self.clipped(grantID)) }
        try await self.perform(.retireGrant, context, requestParameters: parameters) { db, caller, notes in
            let grant: Grant
            let key: KeyMetadata
            if let grantToken {
                try self.validateGrantTokens([grantToken])
                guard grantToken.hasPrefix(Self.grantTokenPrefix) else {
                    throw KMSError(code: .invalidGrantToken, message: "the grant token is not valid")
                }
                let hash = Array(SHA256.hash(data: Array(grantToken.utf8)))
                guard let id = try KeyStore.grantID(db, tokenHash: hash), let found = try KeyStore.grant(db, id: id) else {
                    throw KMSError.notFound("no grant has this token")
                }
                key = try self.visibleKey(db, found.keyID, caller: caller, notes: notes)
                if let keyID, try self.visibleKey(db, keyID, caller: caller, notes: notes).keyID != key.keyID {
                    throw KMSError.validation("the grant token names a grant on another key")
                }
                grant = found
            } else {
                guard let keyID, let grantID else {
                    throw KMSError.validation("give GrantToken, or both KeyId and GrantId")
                }
                try Self.validateGrantID(grantID)
                key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
                guard let found = try KeyStore.grant(db, id: grantID), found.keyID == key.keyID else {
                    throw KMSError.notFound("grant \(grantID) does not exist on \(key.arn)")
                }
                grant = found
            }
            notes.setParameter("grantId", .string(grant.grantID))
            let isRetiring = grant.retiringPrincipal == caller.principal
            let isGranteeWithRetire = grant.granteePrincipal == caller.principal && grant.operations.contains(.retireGrant)
            if !isRetiring && !isGranteeWithRetire {
                try self.authorize(db, key, caller: caller, action: KMSOperation.retireGrant.action, grantOperation: nil, notes: notes)
            }
            try KeyStore.deleteGrant(db, id: grant.grantID)
        }
    }

    /// `RevokeGrant`: for principals the key policy allows `kms:RevokeGrant`. Once this
    /// returns, no call is authorised by the grant.
    ///
    /// - Throws: ``KMSError`` `InvalidGrantIdException`, `NotFoundException`,
    ///   `AccessDeniedException`.
    public func revokeGrant(keyID: String, grantID: String, caller context: CallerContext) async throws {
        let parameters: [String: AuditJSON] = ["keyId": .string(self.clipped(keyID)), "grantId": .string(self.clipped(grantID))]
        try await self.perform(.revokeGrant, context, requestParameters: parameters) { db, caller, notes in
            try Self.validateGrantID(grantID)
            let key = try self.visibleKey(db, keyID, caller: caller, notes: notes)
            try self.authorize(db, key, caller: caller, action: KMSOperation.revokeGrant.action, grantOperation: nil, notes: notes)
            guard let grant = try KeyStore.grant(db, id: grantID), grant.keyID == key.keyID else {
                throw KMSError.notFound("grant \(grantID) does not exist on \(key.arn)")
            }
            try KeyStore.deleteGrant(db, id: grant.grantID)
        }
    }

    private func validateGrantRequest(_ request: CreateGrantRequest) throws -> GrantRequestFacts {
        try self.validatePrincipal(request.granteePrincipal, "GranteePrincipal")
        if let retiring = request.retiringPrincipal { try self.validatePrincipal(retiring, "RetiringPrincipal") }
        guard !request.operations.isEmpty else { throw KMSError.validation("Operations must name at least one operation") }
        let operations = Array(Set(try request.operations.map(GrantOperation.init(validating:)))).sorted()
        try request.constraints.validate(limits: self.configuration.ciphertextLimits)
        if !request.constraints.isEmpty, let other = operations.first(where: { !$0.takesEncryptionContext }) {
            throw KMSError.validation("grant constraints cannot be used with the \(other.rawValue) operation")
        }
        if let name = request.name {
            guard !name.isEmpty, name.count <= self.limits.maximumGrantNameCharacters,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ":/_-".contains($0)) })
            else {
                throw KMSError.validation("grant names are 1 to \(self.limits.maximumGrantNameCharacters) of a-z A-Z 0-9 : / _ -")
            }
        }
        try self.validateGrantTokens(request.grantTokens)
        return GrantRequestFacts(
            operations: operations,
            granteePrincipal: request.granteePrincipal,
            retiringPrincipal: request.retiringPrincipal,
            constraints: request.constraints
        )
    }

    static func validateGrantID(_ grantID: String) throws {
        guard grantID.utf8.count == 64, grantID.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw KMSError(code: .invalidGrantID, message: "\(KeyReference.clipped(grantID)) is not a grant id")
        }
    }

    private static func validateMarkerGrantID(_ marker: String) throws {
        do {
            try Self.validateGrantID(marker)
        } catch {
            throw KMSError(code: .invalidMarker, message: "Marker is not one this service returned")
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

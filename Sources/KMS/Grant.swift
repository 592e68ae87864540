import Foundation

/// A grant: permission for a grantee principal to use one key for some operations.
public struct Grant: Hashable, Sendable {
    /// The grant id: 64 lower-case hex digits.
    public var grantID: String
    /// The key the grant is for.
    public var keyID: KeyID
    /// The optional name; unique per key and the handle for idempotent `CreateGrant`.
    public var name: String?
    /// Who the grant lets in.
    public var granteePrincipal: String
    /// Who may retire the grant, besides the key's managers.
    public var retiringPrincipal: String?
    /// The account of the principal that created the grant.
    public var issuingAccount: String
    /// The operations allowed, sorted.
    public var operations: [GrantOperation]
    /// Encryption context conditions.
    public var constraints: GrantConstraints
    /// When the grant was created.
    public var creationDate: Date

    /// Creates a grant value.
    public init(
        grantID: String,
        keyID: KeyID,
        name: String?,
        granteePrincipal: String,
        retiringPrincipal: String?,
        issuingAccount: String,
        operations: [GrantOperation],
        constraints: GrantConstraints,
        creationDate: Date
    ) {
        self.grantID = grantID
        self.keyID = keyID
        self.name = name
        self.granteePrincipal = granteePrincipal
        self.retiringPrincipal = retiringPrincipal
        self.issuingAccount = issuingAccount
        self.operations = operations
        self.constraints = constraints
        self.creationDate = creationDate
    }

    /// Whether the grant lets `principal` do `operation` with `context`.
    func allows(_ operation: GrantOperation, principal: String, context: EncryptionContext) -> Bool {
        self.granteePrincipal == principal && self.operations.contains(operation)
            && (!operation.isCryptographic || self.constraints.isSatisfied(by: context))
    }

    /// Whether `parameters` would create this very grant (for idempotent retries by name).
    func hasSameParameters(as other: Grant) -> Bool {
        self.granteePrincipal == other.granteePrincipal && self.retiringPrincipal == other.retiringPrincipal
            && self.operations == other.operations && self.constraints == other.constraints
    }
}

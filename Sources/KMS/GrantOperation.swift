/// An operation a grant can allow on a symmetric encryption key.
public enum GrantOperation: String, Hashable, Sendable, CaseIterable, Comparable {
    case decrypt = "Decrypt"
    case encrypt = "Encrypt"
    case generateDataKey = "GenerateDataKey"
    case generateDataKeyWithoutPlaintext = "GenerateDataKeyWithoutPlaintext"
    case reEncryptFrom = "ReEncryptFrom"
    case reEncryptTo = "ReEncryptTo"
    case createGrant = "CreateGrant"
    case retireGrant = "RetireGrant"
    case describeKey = "DescribeKey"

    /// Parses an operation name.
    ///
    /// - Throws: ``KMSError`` `ValidationException` for a name that is not an operation a grant
    ///   on a symmetric encryption key can allow.
    public init(validating name: String) throws {
        guard let operation = GrantOperation(rawValue: name) else {
            throw KMSError.validation("\(KeyReference.clipped(name)) is not a grant operation for a symmetric encryption key")
        }
        self = operation
    }

    /// Whether the operation takes an encryption context, so that grant constraints apply to it.
    public var takesEncryptionContext: Bool {
        switch self {
        case .decrypt, .encrypt, .generateDataKey, .generateDataKeyWithoutPlaintext, .reEncryptFrom, .reEncryptTo,
            .createGrant:
            true
        case .retireGrant, .describeKey:
            false
        }
    }

    /// Whether the operation uses key material; grant constraints are checked against its
    /// encryption context.
    public var isCryptographic: Bool {
        self.takesEncryptionContext && self != .createGrant
    }

    /// Orders by name, so stored and audited lists are stable.
    public static func < (lhs: GrantOperation, rhs: GrantOperation) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

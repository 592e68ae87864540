import Crypto

/// The key that encrypts all key material at rest, loaded when `kmsd` starts.
///
/// The root key itself never encrypts anything: two independent subkeys are derived from it with
/// HKDF-SHA256, one to wrap key material (see ``MaterialWrapper``) and one to compute the
/// ``checkValue`` the key store keeps to detect a wrong root key at open time.
///
/// `@unchecked Sendable`: `SymmetricKey` is an immutable value but swift-crypto 3.12 does not
/// declare it `Sendable`.
public struct RootKey: @unchecked Sendable, CustomStringConvertible {
    /// The size of a root key file and of the key: 32 bytes.
    public static let byteCount = 32

    private static let wrappingKeyInfo = Array("keylake-kms root key: material wrapping v1".utf8)
    private static let checkKeyInfo = Array("keylake-kms root key: key check v1".utf8)
    private static let checkLabel = Array("keylake-kms key check value v1".utf8)
    private static let auditSealKeyInfo = Array("keylake-kms root key: audit seal v1".utf8)

    /// The subkey that wraps key material.
    let wrappingKey: SymmetricKey

    /// The subkey that seals the audit trail's chain hashes (HMAC-SHA256), so that someone who
    /// can edit the database but has no root key cannot recompute a consistent chain.
    let auditSealKey: SymmetricKey

    /// HMAC-SHA256 of a fixed label under a subkey: identifies the root key without revealing it.
    ///
    /// The key store records this when it is created and compares it on every open, so a wrong
    /// root key stops `kmsd` with ``RootKeyError/Code/mismatch`` instead of failing later, key by
    /// key, or worse.
    public let checkValue: [UInt8]

    /// Creates a root key from its 32 bytes.
    ///
    /// - Throws: ``RootKeyError`` with code `wrongLength` if `bytes` is not 32 bytes long.
    public init<Bytes: Collection<UInt8>>(bytes: Bytes) throws {
        let key = SymmetricKey(data: Array(bytes))
        guard key.bitCount == Self.byteCount * 8 else {
            throw RootKeyError(
                code: .wrongLength,
                message: "a root key is \(Self.byteCount) bytes; got \(key.bitCount / 8)"
            )
        }
        self.wrappingKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key,
            info: Self.wrappingKeyInfo,
            outputByteCount: 32
        )
        self.auditSealKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key,
            info: Self.auditSealKeyInfo,
            outputByteCount: 32
        )
        let checkKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Self.checkKeyInfo, outputByteCount: 32)
        self.checkValue = Array(HMAC<SHA256>.authenticationCode(for: Self.checkLabel, using: checkKey))
    }

    /// Confirms that this is the root key a key store was created with.
    ///
    /// - Parameter storedCheckValue: The ``checkValue`` recorded by the key store.
    /// - Throws: ``RootKeyError`` with code `mismatch` when the values differ.
    public func verify(storedCheckValue: [UInt8]) throws {
        // Constant-time comparison, although the check value is not secret.
        guard storedCheckValue.count == self.checkValue.count else {
            throw Self.mismatchError
        }
        var difference: UInt8 = 0
        for (a, b) in zip(storedCheckValue, self.checkValue) { difference |= a ^ b }
        guard difference == 0 else { throw Self.mismatchError }
    }

    private static var mismatchError: RootKeyError {
        RootKeyError(
            code: .mismatch,
            message: "the root key does not match the one this key store was created with; "
                + "start kmsd with the original root key file (key material cannot be decrypted otherwise)"
        )
    }

    /// A redacted placeholder; the key is never printed.
    public var description: String { "RootKey(redacted)" }
}

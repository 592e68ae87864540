/// The result of `Encrypt`.
public struct EncryptResult: Hashable, Sendable {
    /// The self-describing ciphertext blob.
    public var ciphertextBlob: [UInt8]
    /// The ARN of the key that encrypted.
    public var keyARN: String
    /// Always `SYMMETRIC_DEFAULT`.
    public var encryptionAlgorithm: String { "SYMMETRIC_DEFAULT" }
}

/// The result of `Decrypt`.
public struct DecryptResult: Hashable, Sendable {
    /// The plaintext. Hand it to the caller and nowhere else: never log or audit it.
    public var plaintext: [UInt8]
    /// The ARN of the key that decrypted.
    public var keyARN: String
    /// Always `SYMMETRIC_DEFAULT`.
    public var encryptionAlgorithm: String { "SYMMETRIC_DEFAULT" }
}

/// The result of `ReEncrypt`.
public struct ReEncryptResult: Hashable, Sendable {
    /// The new ciphertext blob, under the destination key.
    public var ciphertextBlob: [UInt8]
    /// The ARN of the key that decrypted.
    public var sourceKeyARN: String
    /// The ARN of the key that encrypted.
    public var keyARN: String
}

/// The result of `GenerateDataKey` and `GenerateDataKeyWithoutPlaintext`.
public struct DataKeyResult: Hashable, Sendable {
    /// The data key encrypted under the KMS key.
    public var ciphertextBlob: [UInt8]
    /// The data key in clear; `nil` for `GenerateDataKeyWithoutPlaintext`. Never log or audit it.
    public var plaintext: [UInt8]?
    /// The ARN of the KMS key.
    public var keyARN: String
}

/// The size of a data key, as `GenerateDataKey`'s `KeySpec` names it.
public enum DataKeySpec: String, Hashable, Sendable, CaseIterable {
    /// 16 bytes.
    case aes128 = "AES_128"
    /// 32 bytes.
    case aes256 = "AES_256"

    /// The key length in bytes.
    public var byteCount: Int {
        switch self {
        case .aes128: 16
        case .aes256: 32
        }
    }
}

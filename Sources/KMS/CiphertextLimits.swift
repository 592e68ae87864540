/// Size limits for plaintexts, encryption contexts and ciphertext blobs.
///
/// The defaults follow AWS KMS where it documents a limit.
public struct CiphertextLimits: Hashable, Sendable {
    /// The largest plaintext `Encrypt` accepts and so the largest a blob can carry.
    /// Default 4,096 bytes, as in AWS KMS.
    public var maximumPlaintextBytes: Int

    /// The largest encryption context, counted as the sum of the UTF-8 lengths of all keys and
    /// values. Default 8,192 bytes.
    public var maximumEncryptionContextBytes: Int

    /// Creates limits; every argument has the documented default.
    public init(maximumPlaintextBytes: Int = 4096, maximumEncryptionContextBytes: Int = 8192) {
        self.maximumPlaintextBytes = maximumPlaintextBytes
        self.maximumEncryptionContextBytes = maximumEncryptionContextBytes
    }
}

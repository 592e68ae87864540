import Crypto

/// A data key from the key service for one layer: its plaintext (to use once and drop) and its
/// ciphertext blob (to store beside the data).
///
/// `@unchecked Sendable`: `SymmetricKey` is an immutable value (its storage is never mutated
/// after creation) but swift-crypto 3 does not declare it `Sendable`.
public struct DataKey: @unchecked Sendable {
    /// The layer this key protects.
    public let layer: KeyLayer
    /// The key service key that wrapped it (id or ARN), recorded in the sealed resource.
    public let keyID: String
    /// The wrapped data key, as the key service returned it (its ciphertext blob).
    public let wrapped: [UInt8]
    /// The 256-bit plaintext key. `SymmetricKey` wipes its storage when released.
    public let plaintext: SymmetricKey

    /// Creates a data key, moving `plaintext` into a `SymmetricKey` and zeroing the array.
    ///
    /// - Throws: ``DataStoreError`` `invalidDataKey` unless `plaintext` is 32 bytes.
    public init(layer: KeyLayer, keyID: String, wrapped: [UInt8], plaintext: inout [UInt8]) throws {
        defer { plaintext.zeroize() }
        guard plaintext.count == 32 else {
            throw DataStoreError(code: .invalidDataKey, message: "a \(layer) data key must be 32 bytes, got \(plaintext.count)")
        }
        guard !wrapped.isEmpty, wrapped.count <= SealedResource.maximumWrappedKeyBytes else {
            throw DataStoreError(code: .invalidDataKey, message: "a wrapped \(layer) data key must be 1…\(SealedResource.maximumWrappedKeyBytes) bytes")
        }
        guard !keyID.isEmpty, keyID.utf8.count <= SealedResource.maximumKeyIDBytes else {
            throw DataStoreError(code: .invalidDataKey, message: "a key id must be 1…\(SealedResource.maximumKeyIDBytes) bytes")
        }
        self.layer = layer
        self.keyID = keyID
        self.wrapped = wrapped
        self.plaintext = SymmetricKey(data: plaintext)
    }
}

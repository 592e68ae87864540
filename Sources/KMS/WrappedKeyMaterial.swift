/// Key material encrypted under the root key, as the key store keeps it.
///
/// Layout: format version (1 byte, `1`), salt (16), nonce (12), encrypted material (32), tag (16):
/// 77 bytes. Produced and opened only by ``MaterialWrapper``.
public struct WrappedKeyMaterial: Hashable, Sendable {
    /// The format version this module writes.
    static let formatVersion: UInt8 = 1
    static let saltByteCount = 16
    static let nonceByteCount = 12
    static let tagByteCount = 16

    /// The exact size of a wrapped material record.
    public static let byteCount = 1 + saltByteCount + nonceByteCount + KeyMaterial.byteCount + tagByteCount

    /// The stored bytes.
    public let bytes: [UInt8]

    /// Accepts bytes read back from storage.
    ///
    /// - Throws: ``KMSError`` `KMSInternalException` if the record has the wrong size or version;
    ///   that means the key store is damaged.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.byteCount, bytes.first == Self.formatVersion else {
            throw KMSError.internalFailure("stored key material record is damaged (wrong size or format version)")
        }
        self.bytes = bytes
    }

    init(validatedBytes: [UInt8]) {
        self.bytes = validatedBytes
    }

    var salt: ArraySlice<UInt8> { self.bytes[1..<17] }
    var nonce: ArraySlice<UInt8> { self.bytes[17..<29] }
    var ciphertext: ArraySlice<UInt8> { self.bytes[29..<61] }
    var tag: ArraySlice<UInt8> { self.bytes[61..<77] }
}

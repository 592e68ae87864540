/// A ciphertext as `Encrypt` and `GenerateDataKey` return it: self-describing, so `Decrypt`
/// needs nothing but the blob and the encryption context.
///
/// Binary layout (integers big-endian), 65 bytes of overhead:
///
/// | bytes | field |
/// |---|---|
/// | 1 | format version, `1` |
/// | 16 | key id (UUID, RFC 4122 byte order) |
/// | 4 | material version (UInt32) |
/// | 12 | AES-GCM nonce |
/// | 16 | HKDF salt |
/// | n ≥ 1 | ciphertext, at most ``CiphertextLimits/maximumPlaintextBytes`` |
/// | 16 | AES-GCM tag |
///
/// The whole 49-byte header is authenticated (it is part of the additional data), so changing
/// any header bit, such as the key id or material version, makes the blob fail to open.
public struct CiphertextBlob: Hashable, Sendable {
    /// The only format version this module reads and writes.
    public static let formatVersion: UInt8 = 1
    static let keyIDByteCount = 16
    static let nonceByteCount = 12
    static let saltByteCount = 16
    static let tagByteCount = 16
    /// Bytes before the ciphertext: version, key id, material version, nonce, salt.
    public static let headerByteCount = 1 + keyIDByteCount + 4 + nonceByteCount + saltByteCount

    /// The key that encrypted this blob.
    public let keyID: KeyID
    /// The version of that key's material that encrypted this blob.
    public let materialVersion: UInt32
    let nonce: [UInt8]
    let salt: [UInt8]
    let ciphertext: [UInt8]
    let tag: [UInt8]

    init(keyID: KeyID, materialVersion: UInt32, nonce: [UInt8], salt: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
        precondition(nonce.count == Self.nonceByteCount && salt.count == Self.saltByteCount && tag.count == Self.tagByteCount)
        self.keyID = keyID
        self.materialVersion = materialVersion
        self.nonce = nonce
        self.salt = salt
        self.ciphertext = ciphertext
        self.tag = tag
    }

    /// The header bytes, which are also the first part of the additional authenticated data.
    var header: [UInt8] {
        var bytes = [Self.formatVersion]
        bytes.reserveCapacity(Self.headerByteCount)
        bytes.append(contentsOf: self.keyID.binary)
        bytes.appendBigEndian(self.materialVersion)
        bytes.append(contentsOf: self.nonce)
        bytes.append(contentsOf: self.salt)
        return bytes
    }

    /// The serialized blob, as handed to callers.
    public var bytes: [UInt8] {
        var bytes = self.header
        bytes.append(contentsOf: self.ciphertext)
        bytes.append(contentsOf: self.tag)
        return bytes
    }
}

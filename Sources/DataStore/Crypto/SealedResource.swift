/// An envelope-encrypted resource version, in a self-describing binary form.
///
/// Format version 1, integers big-endian:
///
/// ```
/// u8  format version (1)
/// u8  layer count (1 or 2)
/// per layer, outermost first:
///     u8   key layer (1 service-owned, 2 customer-managed)
///     u16  key id length, key id (UTF-8)
///     u16  wrapped data key length, wrapped data key (the key service's ciphertext blob)
///     12   AES-GCM nonce of this layer
/// u32 ciphertext length (including the 16-byte tag)
/// ciphertext || tag of the outermost layer
/// ```
///
/// Layers are `[service-owned]` or `[customer-managed, service-owned]`: the inner layer
/// encrypts the resource, each outer layer encrypts the inner layer's ciphertext and tag. Every
/// layer's additional data is the whole header (everything before the ciphertext length), the
/// layer's position and the canonical ``EncryptionContext``, so wrapped keys, nonces and context
/// are all authenticated.
public struct SealedResource: Hashable, Sendable {
    /// One layer's metadata.
    public struct Layer: Hashable, Sendable {
        /// Which key protects the layer.
        public var layer: KeyLayer
        /// The key service key id (or ARN).
        public var keyID: String
        /// The wrapped data key.
        public var wrappedKey: [UInt8]
        /// The AES-GCM nonce.
        public var nonce: [UInt8]
    }

    /// The format version this code writes.
    public static let formatVersion: UInt8 = 1
    /// The longest key id accepted: 2,048 bytes (an ARN is far shorter).
    public static let maximumKeyIDBytes = 2048
    /// The longest wrapped data key accepted: 4,096 bytes.
    public static let maximumWrappedKeyBytes = 4096
    /// The AES-GCM nonce and tag sizes.
    static let nonceBytes = 12
    static let tagBytes = 16

    /// The layers, outermost first.
    public let layers: [Layer]
    /// The outermost ciphertext followed by its tag.
    public let ciphertextAndTag: [UInt8]

    init(layers: [Layer], ciphertextAndTag: [UInt8]) {
        self.layers = layers
        self.ciphertextAndTag = ciphertextAndTag
    }

    /// The header bytes: everything before the ciphertext length.
    var header: [UInt8] {
        var bytes: [UInt8] = [Self.formatVersion, UInt8(self.layers.count)]
        for layer in self.layers {
            bytes.append(layer.layer.rawValue)
            bytes.appendBigEndian(UInt16(layer.keyID.utf8.count))
            bytes.append(contentsOf: layer.keyID.utf8)
            bytes.appendBigEndian(UInt16(layer.wrappedKey.count))
            bytes.append(contentsOf: layer.wrappedKey)
            bytes.append(contentsOf: layer.nonce)
        }
        return bytes
    }

    /// The binary form.
    public func serialized() -> [UInt8] {
        var bytes = self.header
        bytes.appendBigEndian(UInt32(self.ciphertextAndTag.count))
        bytes.append(contentsOf: self.ciphertextAndTag)
        return bytes
    }

    /// Parses the binary form strictly.
    ///
    /// - Throws: ``DataStoreError`` `malformedSealedResource` for an unknown format version,
    ///   a layer list other than `[service-owned]` or `[customer-managed, service-owned]`,
    ///   out-of-range lengths, truncation or trailing bytes. Bit flips inside the ciphertext or
    ///   header that keep the form intact are caught when opening (authentication).
    public init(serialized bytes: [UInt8]) throws {
        var reader = ByteReader(bytes)
        let version = try reader.byte()
        guard version == Self.formatVersion else {
            throw DataStoreError(code: .malformedSealedResource, message: "unknown sealed-resource format version \(version)")
        }
        let count = Int(try reader.byte())
        var layers: [Layer] = []
        for _ in 0..<min(count, 2) {
            guard let layer = KeyLayer(rawValue: try reader.byte()) else {
                throw DataStoreError(code: .malformedSealedResource, message: "unknown key layer")
            }
            let keyIDLength = Int(try reader.uint16())
            guard (1...Self.maximumKeyIDBytes).contains(keyIDLength),
                let keyID = String(validating: try reader.bytes(keyIDLength), as: UTF8.self)
            else {
                throw DataStoreError(code: .malformedSealedResource, message: "invalid key id in sealed resource")
            }
            let wrappedLength = Int(try reader.uint16())
            guard (1...Self.maximumWrappedKeyBytes).contains(wrappedLength) else {
                throw DataStoreError(code: .malformedSealedResource, message: "invalid wrapped data key length")
            }
            let wrapped = try reader.bytes(wrappedLength)
            let nonce = try reader.bytes(Self.nonceBytes)
            layers.append(Layer(layer: layer, keyID: keyID, wrappedKey: wrapped, nonce: nonce))
        }
        guard layers.map(\.layer) == KeyLayer.layers(customerManaged: false)
            || layers.map(\.layer) == KeyLayer.layers(customerManaged: true), layers.count == count
        else {
            throw DataStoreError(code: .malformedSealedResource, message: "unexpected key layers in sealed resource")
        }
        let ciphertextLength = Int(try reader.uint32())
        guard ciphertextLength >= Self.tagBytes * layers.count, ciphertextLength == reader.remaining else {
            throw DataStoreError(code: .malformedSealedResource, message: "sealed resource is truncated or has trailing bytes")
        }
        self.layers = layers
        self.ciphertextAndTag = try reader.bytes(ciphertextLength)
    }
}

/// Reads big-endian fields from bytes, throwing on truncation.
struct ByteReader {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { self.bytes.count - self.index }

    mutating func byte() throws -> UInt8 { try self.bytes(1)[0] }

    mutating func uint16() throws -> UInt16 {
        try self.bytes(2).reduce(0) { $0 << 8 | UInt16($1) }
    }

    mutating func uint32() throws -> UInt32 {
        try self.bytes(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= self.remaining else {
            throw DataStoreError(code: .malformedSealedResource, message: "sealed bytes are truncated")
        }
        defer { self.index += count }
        return Array(self.bytes[self.index..<self.index + count])
    }
}

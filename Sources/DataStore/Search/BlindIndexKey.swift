import Crypto

/// The key of a datastore's blind search index: HMAC tokens are made under it.
///
/// It is derived from one data key per layer of the datastore (HKDF-SHA256 over the plaintext
/// data keys, outermost first, with the label `keylake-fhir search index key v1` and the
/// canonical index-key ``EncryptionContext`` as info), so unwrapping it needs every key the
/// datastore's resources need: revoking the customer-managed key stops search as it stops reads.
/// Only the wrapped data keys (``WrappedIndexKey``) are stored.
///
/// `@unchecked Sendable`: `SymmetricKey` is an immutable value that swift-crypto 3 does not
/// declare `Sendable`.
public struct BlindIndexKey: @unchecked Sendable {
    let key: SymmetricKey
    /// HMAC-SHA256 already keyed with ``key``: each token copies it (the hash states are
    /// copy-on-write values) instead of hashing the key into fresh pads again.
    let keyedMAC: HMAC<SHA256>

    /// Uses 32 bytes as the index key directly (tests and tools); zeroes `bytes`.
    ///
    /// - Precondition: `bytes` has 32 bytes.
    public init(bytes: inout [UInt8]) {
        precondition(bytes.count == 32, "an index key has 32 bytes")
        defer { bytes.zeroize() }
        self.key = SymmetricKey(data: bytes)
        self.keyedMAC = HMAC<SHA256>(key: self.key)
    }

    /// Derives the index key from the layers' plaintext data keys (outermost first).
    init(deriving layerKeys: [SymmetricKey], datastoreID: String) {
        var material: [UInt8] = []
        for key in layerKeys {
            key.withUnsafeBytes { material.append(contentsOf: $0) }
        }
        defer { material.zeroize() }
        self.key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: material),
            info: Array("keylake-fhir search index key v1".utf8)
                + EncryptionContext.searchIndexKey(datastoreID: datastoreID).canonicalEncoding,
            outputByteCount: 32
        )
        self.keyedMAC = HMAC<SHA256>(key: self.key)
    }
}

/// A datastore's index key as stored: the wrapped data key of each layer.
///
/// Format version 1: `u8 version (1), u8 layer count`, then per layer, outermost first,
/// `u8 key layer, u16 key id length, key id, u16 wrapped length, wrapped data key` (big-endian).
public struct WrappedIndexKey: Hashable, Sendable {
    /// One layer's wrapped data key.
    public struct Layer: Hashable, Sendable {
        /// Which key wrapped it.
        public var layer: KeyLayer
        /// The key service key id (or ARN).
        public var keyID: String
        /// The key service's ciphertext blob.
        public var wrappedKey: [UInt8]
    }

    /// The layers, outermost first.
    public let layers: [Layer]

    init(layers: [Layer]) { self.layers = layers }

    /// The binary form.
    public func serialized() -> [UInt8] {
        var bytes: [UInt8] = [1, UInt8(self.layers.count)]
        for layer in self.layers {
            bytes.append(layer.layer.rawValue)
            bytes.appendBigEndian(UInt16(layer.keyID.utf8.count))
            bytes.append(contentsOf: layer.keyID.utf8)
            bytes.appendBigEndian(UInt16(layer.wrappedKey.count))
            bytes.append(contentsOf: layer.wrappedKey)
        }
        return bytes
    }

    /// Parses the binary form strictly.
    ///
    /// - Throws: ``DataStoreError`` `malformedSealedResource` on any deviation.
    public init(serialized bytes: [UInt8]) throws {
        var reader = ByteReader(bytes)
        guard try reader.byte() == 1 else {
            throw DataStoreError(code: .malformedSealedResource, message: "unknown wrapped index key format")
        }
        let count = Int(try reader.byte())
        var layers: [Layer] = []
        for _ in 0..<min(count, 2) {
            guard let layer = KeyLayer(rawValue: try reader.byte()) else {
                throw DataStoreError(code: .malformedSealedResource, message: "unknown key layer in wrapped index key")
            }
            let keyIDLength = Int(try reader.uint16())
            guard (1...SealedResource.maximumKeyIDBytes).contains(keyIDLength),
                let keyID = String(validating: try reader.bytes(keyIDLength), as: UTF8.self)
            else { throw DataStoreError(code: .malformedSealedResource, message: "invalid key id in wrapped index key") }
            let wrappedLength = Int(try reader.uint16())
            guard (1...SealedResource.maximumWrappedKeyBytes).contains(wrappedLength) else {
                throw DataStoreError(code: .malformedSealedResource, message: "invalid wrapped key length in wrapped index key")
            }
            layers.append(Layer(layer: layer, keyID: keyID, wrappedKey: try reader.bytes(wrappedLength)))
        }
        let kinds = layers.map(\.layer)
        guard layers.count == count, reader.remaining == 0,
            kinds == KeyLayer.layers(customerManaged: false) || kinds == KeyLayer.layers(customerManaged: true)
        else { throw DataStoreError(code: .malformedSealedResource, message: "unexpected layers or trailing bytes in wrapped index key") }
        self.layers = layers
    }
}

extension EnvelopeCipher {
    /// A new index key for a datastore with `layers` (outermost first), and its stored form.
    ///
    /// - Throws: ``DataStoreError`` `keyUnavailable` when the provider fails.
    public func newIndexKey(datastoreID: String, layers: [KeyLayer]) async throws -> (key: BlindIndexKey, wrapped: WrappedIndexKey) {
        let context = EncryptionContext.searchIndexKey(datastoreID: datastoreID)
        let keys = try await self.generateKeys(layers: layers, context: context)
        let wrapped = WrappedIndexKey(layers: keys.map { WrappedIndexKey.Layer(layer: $0.layer, keyID: $0.keyID, wrappedKey: $0.wrapped) })
        return (BlindIndexKey(deriving: keys.map(\.plaintext), datastoreID: datastoreID), wrapped)
    }

    /// The index key of a datastore, unwrapped by the provider (one call per layer, concurrently).
    ///
    /// Not cached: every search unwraps it again, so every search reaches the key service.
    ///
    /// - Throws: ``DataStoreError`` `keyUnavailable` when the provider refuses.
    public func indexKey(unwrapping wrapped: WrappedIndexKey, datastoreID: String) async throws -> BlindIndexKey {
        let keys = try await self.decryptKeys(
            wrapped.layers.map { (layer: $0.layer, keyID: $0.keyID, wrapped: $0.wrappedKey) },
            context: .searchIndexKey(datastoreID: datastoreID)
        )
        return BlindIndexKey(deriving: keys, datastoreID: datastoreID)
    }
}

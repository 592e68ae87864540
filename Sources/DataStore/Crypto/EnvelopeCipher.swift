import Crypto

/// Envelope encryption of resource versions under a datastore's data keys (AES-256-GCM).
///
/// One layer under the service-owned data key; with a customer-managed key, a second, outer
/// layer under its data key (see ``KeyLayer/layers(customerManaged:)`` for why that order).
/// Data keys come from a ``DataKeyProvider`` for every seal and every open: the cipher keeps no
/// plaintext key beyond the call, and asks for the layers' keys concurrently, so a
/// two-layer datastore costs one round trip of latency, not two.
public struct EnvelopeCipher: Sendable {
    /// Where data keys come from.
    public let provider: any DataKeyProvider

    /// Creates a cipher over a key provider.
    public init(provider: any DataKeyProvider) {
        self.provider = provider
    }

    /// Seals `plaintext` under fresh data keys for `layers` (outermost first).
    ///
    /// - Throws: ``DataStoreError`` `keyUnavailable` when the provider fails (its error is the
    ///   cause), `invalidDataKey` when it returns a key for the wrong layer.
    public func seal(_ plaintext: [UInt8], context: EncryptionContext, layers: [KeyLayer]) async throws -> SealedResource {
        let keys = try await self.generateKeys(layers: layers, context: context)
        return try Self.seal(plaintext, context: context, keys: keys)
    }

    /// Opens a sealed resource read as `context`.
    ///
    /// - Throws: ``DataStoreError`` `decryptionFailed` when the ciphertext was altered or
    ///   belongs to another datastore, resource or version; `keyUnavailable` when the provider
    ///   refuses a data key.
    public func open(_ sealed: SealedResource, context: EncryptionContext) async throws -> [UInt8] {
        let keys = try await self.decryptKeys(
            sealed.layers.map { (layer: $0.layer, keyID: $0.keyID, wrapped: $0.wrappedKey) },
            context: context
        )
        return try Self.open(sealed, context: context, keys: keys)
    }

    /// Seals with the given data keys (outermost first); fresh random nonces.
    ///
    /// - Throws: ``DataStoreError`` `invalidDataKey` unless the keys' layers are
    ///   `[service-owned]` or `[customer-managed, service-owned]`.
    public static func seal(_ plaintext: [UInt8], context: EncryptionContext, keys: [DataKey]) throws -> SealedResource {
        try self.seal(plaintext, context: context, keys: keys, nonces: keys.map { _ in SecureRandom.bytes(count: SealedResource.nonceBytes) })
    }

    /// Seals with given nonces: for known-answer tests only (a nonce must never repeat under a key).
    static func seal(_ plaintext: [UInt8], context: EncryptionContext, keys: [DataKey], nonces: [[UInt8]]) throws -> SealedResource {
        let layers = keys.map(\.layer)
        guard layers == KeyLayer.layers(customerManaged: false) || layers == KeyLayer.layers(customerManaged: true) else {
            throw DataStoreError(code: .invalidDataKey, message: "data keys must be for [service-owned] or [customer-managed, service-owned], got \(layers)")
        }
        let metadata = zip(keys, nonces).map { key, nonce in
            SealedResource.Layer(layer: key.layer, keyID: key.keyID, wrappedKey: key.wrapped, nonce: nonce)
        }
        let header = SealedResource(layers: metadata, ciphertextAndTag: []).header
        let contextBytes = context.canonicalEncoding
        var payload = plaintext
        // Innermost first.
        for position in keys.indices.reversed() {
            let box = try AES.GCM.seal(
                payload,
                using: keys[position].plaintext,
                nonce: AES.GCM.Nonce(data: nonces[position]),
                authenticating: Self.additionalData(header: header, position: position, context: contextBytes)
            )
            payload = Array(box.ciphertext) + Array(box.tag)
        }
        return SealedResource(layers: metadata, ciphertextAndTag: payload)
    }

    /// Opens with plaintext data keys already obtained, one per layer, outermost first.
    ///
    /// - Throws: ``DataStoreError`` `decryptionFailed` (see ``open(_:context:)``).
    public static func open(_ sealed: SealedResource, context: EncryptionContext, keys: [SymmetricKey]) throws -> [UInt8] {
        guard keys.count == sealed.layers.count else {
            throw DataStoreError(code: .invalidDataKey, message: "\(sealed.layers.count) layers need \(sealed.layers.count) keys")
        }
        let header = sealed.header
        let contextBytes = context.canonicalEncoding
        var payload = sealed.ciphertextAndTag
        for position in sealed.layers.indices {
            guard payload.count >= SealedResource.tagBytes else {
                throw DataStoreError(code: .decryptionFailed, message: "inner layer too short for \(context)")
            }
            do {
                let box = try AES.GCM.SealedBox(
                    nonce: AES.GCM.Nonce(data: sealed.layers[position].nonce),
                    ciphertext: payload.dropLast(SealedResource.tagBytes),
                    tag: payload.suffix(SealedResource.tagBytes)
                )
                payload = Array(
                    try AES.GCM.open(
                        box,
                        using: keys[position],
                        authenticating: Self.additionalData(header: header, position: position, context: contextBytes)
                    )
                )
            } catch {
                throw DataStoreError(
                    code: .decryptionFailed,
                    message: "the \(sealed.layers[position].layer) layer does not authenticate as \(context): "
                        + "the ciphertext was altered or belongs to another datastore, resource or version",
                    cause: error
                )
            }
        }
        return payload
    }

    static func additionalData(header: [UInt8], position: Int, context: [UInt8]) -> [UInt8] {
        header + [UInt8(position)] + context
    }

    /// Asks for fresh data keys for every layer at once.
    func generateKeys(layers: [KeyLayer], context: EncryptionContext) async throws -> [DataKey] {
        let provider = self.provider
        return try await withThrowingTaskGroup(of: (Int, DataKey).self) { group in
            for (position, layer) in layers.enumerated() {
                group.addTask {
                    let key: DataKey
                    do {
                        key = try await provider.generateDataKey(layer: layer, context: context)
                    } catch {
                        throw DataStoreError(code: .keyUnavailable, message: "cannot get a \(layer) data key for \(context): \(error)", cause: error)
                    }
                    guard key.layer == layer else {
                        throw DataStoreError(code: .invalidDataKey, message: "asked for a \(layer) data key, got \(key.layer)")
                    }
                    return (position, key)
                }
            }
            var keys = [DataKey?](repeating: nil, count: layers.count)
            for try await (position, key) in group { keys[position] = key }
            return keys.map { $0! }
        }
    }

    /// Asks for every layer's data key to be decrypted at once; the plaintext bytes are moved
    /// into `SymmetricKey`s and zeroed.
    func decryptKeys(_ layers: [(layer: KeyLayer, keyID: String, wrapped: [UInt8])], context: EncryptionContext) async throws -> [SymmetricKey] {
        let provider = self.provider
        return try await withThrowingTaskGroup(of: (Int, SendableKey).self) { group in
            for (position, layer) in layers.enumerated() {
                group.addTask {
                    var plaintext: [UInt8]
                    do {
                        plaintext = try await provider.decryptDataKey(layer: layer.layer, keyID: layer.keyID, wrapped: layer.wrapped, context: context)
                    } catch {
                        throw DataStoreError(
                            code: .keyUnavailable,
                            message: "cannot decrypt the \(layer.layer) data key (key \(layer.keyID)) for \(context): \(error)",
                            cause: error
                        )
                    }
                    defer { plaintext.zeroize() }
                    guard plaintext.count == 32 else {
                        throw DataStoreError(code: .invalidDataKey, message: "a \(layer.layer) data key must be 32 bytes")
                    }
                    return (position, SendableKey(key: SymmetricKey(data: plaintext)))
                }
            }
            var keys = [SymmetricKey?](repeating: nil, count: layers.count)
            for try await (position, key) in group { keys[position] = key.key }
            return keys.map { $0! }
        }
    }
}

/// A `SymmetricKey` crossing a task boundary.
///
/// `@unchecked Sendable`: `SymmetricKey` is an immutable value but swift-crypto 3 does not
/// declare it `Sendable`.
struct SendableKey: @unchecked Sendable {
    let key: SymmetricKey
}

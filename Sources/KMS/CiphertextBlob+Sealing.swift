import Crypto
import Foundation

extension CiphertextBlob {
    /// The HKDF info prefix; the key id and material version follow it.
    static let derivationLabel = Array("keylake-kms-v1".utf8)

    /// Encrypts `plaintext` under one version of a key, binding the encryption context.
    ///
    /// A per-message key is derived as HKDF-SHA256(ikm: material, salt: 16 random bytes,
    /// info: "keylake-kms-v1" ‖ key id ‖ material version) and the plaintext sealed with
    /// AES-256-GCM under a random 12-byte nonce.
    ///
    /// Why derive: AES-GCM with random nonces must not see more than 2^32 messages under one key,
    /// or nonce collisions (which reveal the authentication key) become likely. A busy key would
    /// pass that in days. Deriving a fresh key per message means every AES-GCM key seals exactly
    /// one message, so the nonce bound is never approached; the limit moves to the 128-bit salt,
    /// where a collision among even 2^48 messages has probability about 2^-33 and would still
    /// need the same nonce to matter.
    ///
    /// The additional authenticated data is the blob header followed by the canonical encryption
    /// context (``EncryptionContext/canonicalEncoding``).
    ///
    /// - Throws: ``KMSError`` `ValidationException` if the plaintext is empty or larger than
    ///   ``CiphertextLimits/maximumPlaintextBytes``, or the context breaks the limits.
    public static func seal<Plaintext: Collection<UInt8>>(
        _ plaintext: Plaintext,
        keyID: KeyID,
        materialVersion: UInt32,
        material: KeyMaterial,
        context: EncryptionContext,
        limits: CiphertextLimits = CiphertextLimits()
    ) throws -> CiphertextBlob {
        try self.seal(
            plaintext,
            keyID: keyID,
            materialVersion: materialVersion,
            material: material,
            context: context,
            limits: limits,
            salt: SecureRandom.bytes(count: Self.saltByteCount),
            nonce: SecureRandom.bytes(count: Self.nonceByteCount)
        )
    }

    /// Deterministic form of ``seal(_:keyID:materialVersion:material:context:limits:)`` for
    /// known-answer tests: never call it with a salt or nonce that is not freshly random.
    static func seal<Plaintext: Collection<UInt8>>(
        _ plaintext: Plaintext,
        keyID: KeyID,
        materialVersion: UInt32,
        material: KeyMaterial,
        context: EncryptionContext,
        limits: CiphertextLimits,
        salt: [UInt8],
        nonce: [UInt8]
    ) throws -> CiphertextBlob {
        guard !plaintext.isEmpty else {
            throw KMSError.validation("plaintext must be at least 1 byte")
        }
        guard plaintext.count <= limits.maximumPlaintextBytes else {
            throw KMSError.validation(
                "plaintext is \(plaintext.count) bytes; the limit is \(limits.maximumPlaintextBytes)"
            )
        }
        try context.validate(limits: limits)
        let unsealed = CiphertextBlob(
            keyID: keyID,
            materialVersion: materialVersion,
            nonce: nonce,
            salt: salt,
            ciphertext: [],
            tag: [UInt8](repeating: 0, count: Self.tagByteCount)
        )
        let key = unsealed.messageKey(material: material)
        do {
            let box = try AES.GCM.seal(
                Array(plaintext),
                using: key,
                nonce: AES.GCM.Nonce(data: nonce),
                authenticating: unsealed.additionalData(context: context)
            )
            return CiphertextBlob(
                keyID: keyID,
                materialVersion: materialVersion,
                nonce: nonce,
                salt: salt,
                ciphertext: Array(box.ciphertext),
                tag: Array(box.tag)
            )
        } catch {
            throw KMSError.internalFailure("encryption failed", cause: error)
        }
    }

    /// Decrypts the blob with the material of its key version and the caller's context.
    ///
    /// The caller looks up the material by ``keyID`` and ``materialVersion`` first.
    ///
    /// - Throws: ``KMSError`` `InvalidCiphertextException` if authentication fails: the blob was
    ///   altered, the context differs from the one used to encrypt, or the material is wrong.
    ///   The message does not say which, as AWS KMS does not.
    public func open(with material: KeyMaterial, context: EncryptionContext) throws -> [UInt8] {
        let key = self.messageKey(material: material)
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: self.nonce),
                ciphertext: self.ciphertext,
                tag: self.tag
            )
            let plaintext = try AES.GCM.open(box, using: key, authenticating: self.additionalData(context: context))
            return Array(plaintext)
        } catch {
            throw KMSError.invalidCiphertext(
                "the ciphertext could not be decrypted: it was altered, or the encryption context does not match"
            )
        }
    }

    /// HKDF-SHA256 (RFC 5869) with a 32-byte output, written out: extract is one HMAC under the
    /// salt, expand one HMAC block (`T(1)`). It gives exactly what swift-crypto's generic `HKDF`
    /// gives (the known-answer vectors check it) without its per-call allocations and generic
    /// dispatch, on every Encrypt, Decrypt and GenerateDataKey.
    private func messageKey(material: KeyMaterial) -> SymmetricKey {
        var extract = HMAC<SHA256>(key: SymmetricKey(data: self.salt))
        material.withUnsafeBytes { extract.update(data: $0) }
        let pseudoRandomKey = extract.finalize()
        var expand = HMAC<SHA256>(key: SymmetricKey(data: pseudoRandomKey))
        var info = Self.derivationLabel
        info.reserveCapacity(info.count + 16 + 4 + 1)
        info.append(contentsOf: self.keyID.binary)
        info.appendBigEndian(self.materialVersion)
        info.append(1)
        expand.update(data: info)
        return SymmetricKey(data: expand.finalize())
    }

    private func additionalData(context: EncryptionContext) -> [UInt8] {
        self.header + context.canonicalEncoding
    }
}

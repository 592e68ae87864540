import Crypto
import Foundation

/// Encrypts key material under the root key for storage, and decrypts it back.
///
/// Each wrap derives a fresh AES-256-GCM key with HKDF-SHA256 from the root key's wrapping subkey
/// and a random 16-byte salt, then seals with a random nonce. Because every derived key seals
/// exactly one message, the AES-GCM bound of 2^32 random nonces per key never comes into play,
/// however many key versions are created.
///
/// The additional authenticated data binds the record to its key id and material version, so a
/// wrapped record copied onto another key or version in the database fails to open instead of
/// silently becoming that key's material.
public struct MaterialWrapper: Sendable {
    private static let derivationInfo = Array("keylake-kms material wrap v1".utf8)
    private static let aadLabel = Array("keylake-kms material v1".utf8)

    private let rootKey: RootKey

    /// Creates a wrapper over a loaded root key.
    public init(rootKey: RootKey) {
        self.rootKey = rootKey
    }

    /// Encrypts `material` for storage as version `version` of key `keyID`.
    public func wrap(_ material: KeyMaterial, keyID: KeyID, version: UInt32) throws -> WrappedKeyMaterial {
        let salt = SecureRandom.bytes(count: WrappedKeyMaterial.saltByteCount)
        let nonce = SecureRandom.bytes(count: WrappedKeyMaterial.nonceByteCount)
        return try self.wrap(material, keyID: keyID, version: version, salt: salt, nonce: nonce)
    }

    /// Deterministic form of ``wrap(_:keyID:version:)`` for known-answer tests.
    func wrap(
        _ material: KeyMaterial,
        keyID: KeyID,
        version: UInt32,
        salt: [UInt8],
        nonce: [UInt8]
    ) throws -> WrappedKeyMaterial {
        let key = self.derivedKey(salt: salt)
        do {
            let sealed = try material.withUnsafeBytes { plaintext in
                try AES.GCM.seal(
                    plaintext,
                    using: key,
                    nonce: AES.GCM.Nonce(data: nonce),
                    authenticating: Self.additionalData(keyID: keyID, version: version)
                )
            }
            var bytes = [WrappedKeyMaterial.formatVersion]
            bytes.append(contentsOf: salt)
            bytes.append(contentsOf: nonce)
            bytes.append(contentsOf: sealed.ciphertext)
            bytes.append(contentsOf: sealed.tag)
            return WrappedKeyMaterial(validatedBytes: bytes)
        } catch {
            throw KMSError.internalFailure("could not wrap key material", cause: error)
        }
    }

    /// Decrypts stored material for version `version` of key `keyID`.
    ///
    /// - Throws: ``KMSError`` `KMSInternalException` if the record fails authentication: it was
    ///   altered, belongs to another key or version, or was written under another root key.
    public func unwrap(_ wrapped: WrappedKeyMaterial, keyID: KeyID, version: UInt32) throws -> KeyMaterial {
        let key = self.derivedKey(salt: Array(wrapped.salt))
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: wrapped.nonce),
                ciphertext: wrapped.ciphertext,
                tag: wrapped.tag
            )
            var plaintext = try AES.GCM.open(box, using: key, authenticating: Self.additionalData(keyID: keyID, version: version))
            defer { plaintext.resetBytes(in: plaintext.startIndex..<plaintext.endIndex) }
            return try KeyMaterial(bytes: plaintext)
        } catch {
            throw KMSError.internalFailure(
                "stored key material for key \(keyID) version \(version) failed authentication; the key store is damaged",
                cause: error
            )
        }
    }

    private func derivedKey(salt: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: self.rootKey.wrappingKey,
            salt: salt,
            info: Self.derivationInfo,
            outputByteCount: 32
        )
    }

    static func additionalData(keyID: KeyID, version: UInt32) -> [UInt8] {
        var aad = Self.aadLabel
        aad.append(contentsOf: keyID.binary)
        aad.appendBigEndian(version)
        return aad
    }
}

/// Where data keys come from: fhird implements this by calling kmsd (`GenerateDataKey`,
/// `Decrypt`) on behalf of the caller, with ``EncryptionContext/keyServicePairs`` as the
/// encryption context.
///
/// The domain never caches plaintext data keys: every seal asks for new keys and every open
/// asks for the keys to be decrypted again. That is what makes revoking a grant or disabling a
/// key take effect on the very next operation. Implementations must not cache either.
public protocol DataKeyProvider: Sendable {
    /// A fresh data key for `layer`, bound to `context`.
    ///
    /// - Throws: Whatever the key service reports (disabled key, revoked grant, …); the
    ///   cipher wraps it in ``DataStoreError`` `keyUnavailable`.
    func generateDataKey(layer: KeyLayer, context: EncryptionContext) async throws -> DataKey

    /// The plaintext of a wrapped data key of `layer`, made under `keyID` for `context`.
    ///
    /// The caller zeroes the returned bytes after use.
    func decryptDataKey(layer: KeyLayer, keyID: String, wrapped: [UInt8], context: EncryptionContext) async throws -> [UInt8]
}

public import DataStore

/// DataStore's ``DataStore/DataKeyProvider`` backed by kmsd: every data key is a
/// `GenerateDataKey`, every unwrap a `Decrypt`, with the resource's encryption context. No
/// plaintext data key is cached, so a revoked grant or a disabled key stops the very next
/// operation.
///
/// Both layers are called by the data service as itself (no on-behalf-of header): the
/// service-owned key is the service's own, and the customer-managed key is usable by the
/// service only through the grant made on behalf of the customer when the datastore was created
/// (grantee: the service). This is what HealthLake does and what makes revoking the grant take
/// effect: a call on behalf of the end user would be judged by the key policy alone, which the
/// grant's revocation does not change.
public struct KMSDataKeyProvider: DataKeyProvider {
    private let keyService: KeyServiceClient
    private let directory: DatastoreKeyDirectory

    /// Creates a provider over a key-service client and the datastores' key ARNs.
    public init(keyService: KeyServiceClient, directory: DatastoreKeyDirectory) {
        self.keyService = keyService
        self.directory = directory
    }

    /// A fresh 256-bit data key under the datastore's key for `layer`.
    ///
    /// - Throws: ``KMSKeyAccessError`` when kmsd refuses or is unavailable.
    public func generateDataKey(layer: KeyLayer, context: EncryptionContext) async throws -> DataKey {
        let keyARN = try self.directory.keys(datastoreID: context.datastoreID).keyARN(for: layer)
        let generated = try await self.keyService.generateDataKey(keyID: keyARN, context: context.keyServicePairs)
        var plaintext = generated.plaintext
        return try DataKey(
            layer: layer, keyID: generated.keyARN.isEmpty ? keyARN : generated.keyARN, wrapped: generated.wrapped, plaintext: &plaintext)
    }

    /// The plaintext of a wrapped data key; kmsd checks that it was made under `keyID` for `context`.
    ///
    /// - Throws: ``KMSKeyAccessError`` when kmsd refuses or is unavailable.
    public func decryptDataKey(layer: KeyLayer, keyID: String, wrapped: [UInt8], context: EncryptionContext) async throws -> [UInt8] {
        try await self.keyService.decrypt(keyID: keyID, wrapped: wrapped, context: context.keyServicePairs)
    }
}

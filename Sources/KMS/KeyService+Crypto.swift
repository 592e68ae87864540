import GRDB

extension KeyService {
    /// `Encrypt`: seals up to 4,096 bytes under the key's current material.
    ///
    /// - Throws: ``KMSError`` `ValidationException` (empty or oversized plaintext, bad context),
    ///   `NotFoundException`, `AccessDeniedException`, `DisabledException`,
    ///   `KMSInvalidStateException`, `KMSInternalException` when the audit event cannot be written.
    public func encrypt(
        keyID: String,
        plaintext: [UInt8],
        encryptionContext: [String: String] = [:],
        grantTokens: [String] = [],
        caller context: CallerContext
    ) async throws -> EncryptResult {
        try await self.performCryptographic(.encrypt, context, requestParameters: self.cryptoParameters(keyID)) { lookup, caller, notes in
            let encryptionContext = try self.validatedRequest(encryptionContext, grantTokens: grantTokens, notes: notes)
            try self.validatePlaintext(plaintext)
            let key = try self.usableKey(lookup, keyID, .encrypt, .encrypt, caller, encryptionContext, notes)
            let blob = try self.seal(lookup, plaintext, key: key, context: encryptionContext)
            return EncryptResult(ciphertextBlob: blob, keyARN: key.arn)
        }
    }

    /// `Decrypt`: opens a blob made by `Encrypt`, `GenerateDataKey*` or `ReEncrypt`.
    ///
    /// `keyID` is optional (the blob names its key); when given it must name that key.
    ///
    /// - Throws: ``KMSError`` `InvalidCiphertextException` (malformed or altered blob, wrong
    ///   encryption context), `IncorrectKeyException` (the blob is under another key),
    ///   `NotFoundException` (the key or its material version no longer exists: crypto-shredded),
    ///   `AccessDeniedException`, `DisabledException`, `KMSInvalidStateException`,
    ///   `KMSInternalException` when the audit event cannot be written (no plaintext is returned).
    public func decrypt(
        ciphertextBlob: [UInt8],
        keyID: String? = nil,
        encryptionContext: [String: String] = [:],
        grantTokens: [String] = [],
        caller context: CallerContext
    ) async throws -> DecryptResult {
        var parameters: [String: AuditJSON] = ["encryptionAlgorithm": "SYMMETRIC_DEFAULT"]
        if let keyID { parameters["keyId"] = .string(self.clipped(keyID)) }
        return try await self.performCryptographic(.decrypt, context, requestParameters: parameters) { lookup, caller, notes in
            let encryptionContext = try self.validatedRequest(encryptionContext, grantTokens: grantTokens, notes: notes)
            let (key, plaintext) = try self.open(lookup, ciphertextBlob, keyID: keyID, .decrypt, .decrypt, caller, encryptionContext, notes)
            return DecryptResult(plaintext: plaintext, keyARN: key.arn)
        }
    }

    /// `ReEncrypt`: decrypts under the source key and encrypts under the destination key
    /// without the plaintext leaving the service. Needs `kms:ReEncryptFrom` on the source and
    /// `kms:ReEncryptTo` on the destination.
    ///
    /// - Throws: as ``decrypt(ciphertextBlob:keyID:encryptionContext:grantTokens:caller:)`` for
    ///   the source and ``encrypt(keyID:plaintext:encryptionContext:grantTokens:caller:)`` for the
    ///   destination.
    public func reEncrypt(
        ciphertextBlob: [UInt8],
        sourceKeyID: String? = nil,
        sourceEncryptionContext: [String: String] = [:],
        destinationKeyID: String,
        destinationEncryptionContext: [String: String] = [:],
        grantTokens: [String] = [],
        caller context: CallerContext
    ) async throws -> ReEncryptResult {
        var parameters: [String: AuditJSON] = [
            "destinationKeyId": .string(self.clipped(destinationKeyID)),
            "sourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT", "destinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        ]
        if let sourceKeyID { parameters["sourceKeyId"] = .string(self.clipped(sourceKeyID)) }
        return try await self.perform(.reEncrypt, context, requestParameters: parameters) { db, caller, notes in
            let sourceContext = try self.validatedRequest(sourceEncryptionContext, grantTokens: grantTokens, notes: notes, parameter: "sourceEncryptionContext")
            let destinationContext = try self.validatedContext(destinationEncryptionContext)
            notes.setParameter("destinationEncryptionContext", .context(destinationContext))
            let lookup = DatabaseKeyLookup(db, store: self.store)
            let (source, plaintext) = try self.open(
                lookup, ciphertextBlob, keyID: sourceKeyID, .reEncrypt, .reEncryptFrom, caller, sourceContext, notes
            )
            let destination = try self.visibleKey(db, destinationKeyID, caller: caller, notes: notes)
            try self.authorize(db, destination, caller: caller, action: "kms:ReEncryptTo", grantOperation: .reEncryptTo, context: destinationContext, notes: notes)
            try KMSOperation.reEncrypt.checkKeyState(destination)
            let blob = try self.seal(lookup, plaintext, key: destination, context: destinationContext)
            return ReEncryptResult(ciphertextBlob: blob, sourceKeyARN: source.arn, keyARN: destination.arn)
        }
    }

    /// `GenerateDataKey`: a fresh random data key, in clear and encrypted under the KMS key.
    /// Give exactly one of `keySpec` and `numberOfBytes` (1…1,024).
    ///
    /// - Throws: ``KMSError`` `ValidationException` (both or neither size, size out of range),
    ///   and as ``encrypt(keyID:plaintext:encryptionContext:grantTokens:caller:)``.
    public func generateDataKey(
        keyID: String,
        keySpec: DataKeySpec? = nil,
        numberOfBytes: Int? = nil,
        encryptionContext: [String: String] = [:],
        grantTokens: [String] = [],
        caller context: CallerContext
    ) async throws -> DataKeyResult {
        try await self.dataKey(.generateDataKey, keyID, keySpec, numberOfBytes, encryptionContext, grantTokens, context, withPlaintext: true)
    }

    /// `GenerateDataKeyWithoutPlaintext`: as `GenerateDataKey`, but only the encrypted copy.
    ///
    /// - Throws: as ``generateDataKey(keyID:keySpec:numberOfBytes:encryptionContext:grantTokens:caller:)``.
    public func generateDataKeyWithoutPlaintext(
        keyID: String,
        keySpec: DataKeySpec? = nil,
        numberOfBytes: Int? = nil,
        encryptionContext: [String: String] = [:],
        grantTokens: [String] = [],
        caller context: CallerContext
    ) async throws -> DataKeyResult {
        try await self.dataKey(
            .generateDataKeyWithoutPlaintext, keyID, keySpec, numberOfBytes, encryptionContext, grantTokens, context, withPlaintext: false
        )
    }

    /// `GenerateRandom`: 1…1,024 random bytes; uses no key.
    ///
    /// - Throws: ``KMSError`` `ValidationException` out of range, `AccessDeniedException`.
    public func generateRandom(numberOfBytes: Int, caller context: CallerContext) async throws -> [UInt8] {
        try await self.perform(.generateRandom, context, requestParameters: ["numberOfBytes": .int(numberOfBytes)]) { _, caller, _ in
            try self.validateByteCount(numberOfBytes)
            if !caller.isServiceActingForItself {
                try self.authorizeAccountAction(KMSOperation.generateRandom.action, caller: caller)
            }
            return SecureRandom.bytes(count: numberOfBytes)
        }
    }

    private func dataKey(
        _ operation: KMSOperation,
        _ keyID: String,
        _ keySpec: DataKeySpec?,
        _ numberOfBytes: Int?,
        _ encryptionContext: [String: String],
        _ grantTokens: [String],
        _ context: CallerContext,
        withPlaintext: Bool
    ) async throws -> DataKeyResult {
        var parameters = self.cryptoParameters(keyID)
        if let keySpec { parameters["keySpec"] = .string(keySpec.rawValue) }
        if let numberOfBytes { parameters["numberOfBytes"] = .int(numberOfBytes) }
        let grantOperation: GrantOperation = withPlaintext ? .generateDataKey : .generateDataKeyWithoutPlaintext
        return try await self.performCryptographic(operation, context, requestParameters: parameters) { lookup, caller, notes in
            let encryptionContext = try self.validatedRequest(encryptionContext, grantTokens: grantTokens, notes: notes)
            let count: Int
            switch (keySpec, numberOfBytes) {
            case (let spec?, nil): count = spec.byteCount
            case (nil, let bytes?):
                try self.validateByteCount(bytes)
                count = bytes
            case (.some, .some): throw KMSError.validation("give KeySpec or NumberOfBytes, not both")
            case (nil, nil): throw KMSError.validation("give KeySpec or NumberOfBytes")
            }
            let key = try self.usableKey(lookup, keyID, operation, grantOperation, caller, encryptionContext, notes)
            let dataKey = SecureRandom.bytes(count: count)
            let blob = try self.seal(lookup, dataKey, key: key, context: encryptionContext)
            return DataKeyResult(ciphertextBlob: blob, plaintext: withPlaintext ? dataKey : nil, keyARN: key.arn)
        }
    }

    // MARK: - Steps shared by the cryptographic operations

    private func cryptoParameters(_ keyID: String) -> [String: AuditJSON] {
        ["keyId": .string(self.clipped(keyID)), "encryptionAlgorithm": "SYMMETRIC_DEFAULT"]
    }

    /// Validates the context and grant tokens, and records the context in the audit event.
    private func validatedRequest(
        _ pairs: [String: String],
        grantTokens: [String],
        notes: AuditNotes,
        parameter: String = "encryptionContext"
    ) throws -> EncryptionContext {
        let context = try self.validatedContext(pairs)
        if !context.isEmpty { notes.setParameter(parameter, .context(context)) }
        try self.validateGrantTokens(grantTokens)
        return context
    }

    func validateGrantTokens(_ tokens: [String]) throws {
        guard tokens.count <= self.limits.maximumGrantTokens else {
            throw KMSError.validation("at most \(self.limits.maximumGrantTokens) grant tokens")
        }
        for token in tokens where token.isEmpty || token.count > self.limits.maximumGrantTokenCharacters {
            throw KMSError(code: .invalidGrantToken, message: "a grant token is 1 to \(self.limits.maximumGrantTokenCharacters) characters")
        }
    }

    private func validatePlaintext(_ plaintext: [UInt8]) throws {
        let maximum = self.configuration.ciphertextLimits.maximumPlaintextBytes
        guard !plaintext.isEmpty, plaintext.count <= maximum else {
            throw KMSError.validation("Plaintext must be 1 to \(maximum) bytes; got \(plaintext.count)")
        }
    }

    private func validateByteCount(_ count: Int) throws {
        guard count >= 1, count <= self.limits.maximumDataKeyBytes else {
            throw KMSError.validation("NumberOfBytes must be between 1 and \(self.limits.maximumDataKeyBytes)")
        }
    }

    /// Looks up, authorises and state-checks the key of an encrypting operation.
    private func usableKey(
        _ lookup: some KeyLookup,
        _ keyID: String,
        _ operation: KMSOperation,
        _ grantOperation: GrantOperation,
        _ caller: ResolvedCaller,
        _ context: EncryptionContext,
        _ notes: AuditNotes
    ) throws -> KeyMetadata {
        let key = try self.visibleKey(lookup, keyID, caller: caller, notes: notes)
        try self.authorize(lookup, key, caller: caller, action: operation.action, grantOperation: grantOperation, context: context, notes: notes)
        try operation.checkKeyState(key)
        return key
    }

    private func seal(_ lookup: some KeyLookup, _ plaintext: [UInt8], key: KeyMetadata, context: EncryptionContext) throws -> [UInt8] {
        let material = try lookup.material(key.keyID, version: key.currentMaterialVersion)
        return try CiphertextBlob.seal(
            plaintext,
            keyID: key.keyID,
            materialVersion: key.currentMaterialVersion,
            material: material,
            context: context,
            limits: self.configuration.ciphertextLimits
        ).bytes
    }

    /// Parses, authorises, state-checks and opens a blob for `Decrypt` or `ReEncrypt`.
    private func open(
        _ lookup: some KeyLookup,
        _ bytes: [UInt8],
        keyID: String?,
        _ operation: KMSOperation,
        _ grantOperation: GrantOperation,
        _ caller: ResolvedCaller,
        _ context: EncryptionContext,
        _ notes: AuditNotes
    ) throws -> (KeyMetadata, [UInt8]) {
        let blob = try CiphertextBlob(parsing: bytes, limits: self.configuration.ciphertextLimits)
        if let keyID {
            let named = try self.visibleKey(lookup, keyID, caller: caller, notes: notes)
            guard named.keyID == blob.keyID else {
                throw KMSError.incorrectKey("The key ID in the request does not identify a KMS key that can perform this operation")
            }
        }
        let key: KeyMetadata
        do {
            key = try self.visibleKey(lookup, blob.keyID, caller: caller, notes: notes)
        } catch let error as KMSError where error.code == .notFound {
            // The key id inside the blob is authenticated only once the key is found. An id that
            // names no key that ever existed means the blob was altered; a key deleted at the end
            // of its waiting period (crypto-shredded) stays NotFoundException.
            guard try lookup.wasDeleted(blob.keyID) else {
                throw KMSError.invalidCiphertext("the ciphertext could not be decrypted: it was altered, or the encryption context does not match")
            }
            throw error
        }
        try self.authorize(lookup, key, caller: caller, action: operation.action, grantOperation: grantOperation, context: context, notes: notes)
        try operation.checkKeyState(key)
        // The header is authenticated, so a version that never existed means an altered blob.
        guard blob.materialVersion >= 1, blob.materialVersion <= key.currentMaterialVersion else {
            throw KMSError.invalidCiphertext("the ciphertext could not be decrypted: it was altered, or the encryption context does not match")
        }
        let material = try lookup.material(key.keyID, version: blob.materialVersion)
        return (key, try blob.open(with: material, context: context))
    }
}

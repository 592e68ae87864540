extension CiphertextBlob {
    /// Parses a blob received from a caller; strict about every byte.
    ///
    /// Parsing checks structure only; authenticity is checked by ``open(with:context:)``.
    ///
    /// - Throws: ``KMSError`` `InvalidCiphertextException` if the blob is shorter than a header
    ///   and tag plus one byte of ciphertext, longer than the limits allow, or has an unknown
    ///   format version. (Trailing bytes cannot be told apart from ciphertext here; they make
    ///   authentication fail when opened.)
    public init<Bytes: Collection<UInt8>>(parsing input: Bytes, limits: CiphertextLimits = CiphertextLimits()) throws {
        let minimum = Self.headerByteCount + 1 + Self.tagByteCount
        let maximum = Self.headerByteCount + limits.maximumPlaintextBytes + Self.tagByteCount
        // Check the size before copying anything: an attacker controls the input length.
        let count = input.count
        guard count >= minimum else {
            throw KMSError.invalidCiphertext("ciphertext blob is too short (\(count) bytes; at least \(minimum))")
        }
        guard count <= maximum else {
            throw KMSError.invalidCiphertext("ciphertext blob is too long (\(count) bytes; at most \(maximum))")
        }
        let bytes = Array(input)
        guard bytes[0] == Self.formatVersion else {
            throw KMSError.invalidCiphertext("unsupported ciphertext blob format version \(bytes[0])")
        }
        var offset = 1
        func take(_ length: Int) -> [UInt8] {
            defer { offset += length }
            return Array(bytes[offset..<(offset + length)])
        }
        let keyID = KeyID(binary: take(Self.keyIDByteCount))
        let version = take(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let nonce = take(Self.nonceByteCount)
        let salt = take(Self.saltByteCount)
        let ciphertext = take(count - Self.headerByteCount - Self.tagByteCount)
        let tag = take(Self.tagByteCount)
        self.init(keyID: keyID, materialVersion: version, nonce: nonce, salt: salt, ciphertext: ciphertext, tag: tag)
    }
}

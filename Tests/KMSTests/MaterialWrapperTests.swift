import Testing

@testable import KMS

@Suite("MaterialWrapper")
struct MaterialWrapperTests {
    let rootKey: RootKey
    let wrapper: MaterialWrapper
    let keyID = KeyID(binary: Hex.decode(KnownAnswerVectors.keyID))

    init() throws {
        self.rootKey = try RootKey(bytes: Hex.decode(KnownAnswerVectors.rootKey))
        self.wrapper = MaterialWrapper(rootKey: self.rootKey)
    }

    @Test("wrapping matches the independent implementation")
    func knownAnswer() throws {
        let material = try KeyMaterial(bytes: Hex.decode(KnownAnswerVectors.material))
        let wrapped = try self.wrapper.wrap(
            material,
            keyID: self.keyID,
            version: KnownAnswerVectors.wrapVersion,
            salt: Hex.decode(KnownAnswerVectors.salt),
            nonce: Hex.decode(KnownAnswerVectors.nonce)
        )
        #expect(Hex.encode(wrapped.bytes) == KnownAnswerVectors.wrappedMaterial)
        let stored = try WrappedKeyMaterial(bytes: Hex.decode(KnownAnswerVectors.wrappedMaterial))
        #expect(try self.wrapper.unwrap(stored, keyID: self.keyID, version: KnownAnswerVectors.wrapVersion) == material)
    }

    @Test("random wraps round-trip and differ each time")
    func roundTrip() throws {
        let material = KeyMaterial.generate()
        let first = try self.wrapper.wrap(material, keyID: self.keyID, version: 1)
        let second = try self.wrapper.wrap(material, keyID: self.keyID, version: 1)
        #expect(first != second)
        #expect(try self.wrapper.unwrap(first, keyID: self.keyID, version: 1) == material)
        #expect("\(material)" == "KeyMaterial(redacted)")
    }

    @Test("a record opens only for its own key id and version, under its own root key")
    func bindingAndWrongRootKey() throws {
        let material = KeyMaterial.generate()
        let wrapped = try self.wrapper.wrap(material, keyID: self.keyID, version: 3)
        #expect(throws: KMSError(code: .internalFailure, message: "")) {
            try self.wrapper.unwrap(wrapped, keyID: self.keyID, version: 4)
        }
        #expect(throws: KMSError(code: .internalFailure, message: "")) {
            try self.wrapper.unwrap(wrapped, keyID: .generate(), version: 3)
        }
        let otherRoot = MaterialWrapper(rootKey: try RootKey(bytes: [UInt8](repeating: 9, count: 32)))
        #expect(throws: KMSError(code: .internalFailure, message: "")) {
            try otherRoot.unwrap(wrapped, keyID: self.keyID, version: 3)
        }
    }

    @Test("every single-bit flip is detected")
    func bitFlips() throws {
        let wrapped = try self.wrapper.wrap(KeyMaterial.generate(), keyID: self.keyID, version: 1)
        for bit in 0..<(wrapped.bytes.count * 8) {
            var bytes = wrapped.bytes
            bytes[bit / 8] ^= 1 << (bit % 8)
            #expect(throws: KMSError.self) {
                try self.wrapper.unwrap(try WrappedKeyMaterial(bytes: bytes), keyID: self.keyID, version: 1)
            }
        }
    }

    @Test("damaged records of the wrong size are rejected", arguments: [0, 1, 76, 78, 200])
    func wrongSize(size: Int) {
        #expect(throws: KMSError(code: .internalFailure, message: "")) {
            try WrappedKeyMaterial(bytes: [UInt8](repeating: 1, count: size))
        }
    }
}

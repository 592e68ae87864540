import Testing

@testable import KMS

@Suite("CiphertextBlob")
struct CiphertextBlobTests {
    let material: KeyMaterial
    let keyID = KeyID(binary: Hex.decode(KnownAnswerVectors.keyID))

    init() throws {
        self.material = try KeyMaterial(bytes: Hex.decode(KnownAnswerVectors.material))
    }

    @Test("sealing with fixed salt and nonce matches the independent implementation", arguments: KnownAnswerVectors.blobs)
    func knownAnswer(vector: KnownAnswerVectors.BlobCase) throws {
        let blob = try CiphertextBlob.seal(
            Hex.decode(vector.plaintext),
            keyID: self.keyID,
            materialVersion: vector.materialVersion,
            material: self.material,
            context: EncryptionContext(vector.context),
            limits: CiphertextLimits(),
            salt: Hex.decode(KnownAnswerVectors.salt),
            nonce: Hex.decode(KnownAnswerVectors.nonce)
        )
        #expect(Hex.encode(blob.bytes) == vector.blob)

        let parsed = try CiphertextBlob(parsing: Hex.decode(vector.blob))
        #expect(parsed.keyID == self.keyID)
        #expect(parsed.materialVersion == vector.materialVersion)
        #expect(try parsed.open(with: self.material, context: EncryptionContext(vector.context)) == Hex.decode(vector.plaintext))
    }

    @Test("round trip; the context is order-insensitive and exact")
    func roundTripAndContext() throws {
        let context: EncryptionContext = ["b": "2", "a": "1"]
        let blob = try CiphertextBlob.seal([1, 2, 3], keyID: self.keyID, materialVersion: 5, material: self.material, context: context)
        let parsed = try CiphertextBlob(parsing: blob.bytes)
        #expect(try parsed.open(with: self.material, context: ["a": "1", "b": "2"]) == [1, 2, 3])
        let wrongContexts: [EncryptionContext] = [[:], ["a": "1"], ["a": "1", "b": "3"], ["a": "1", "b": "2", "c": "3"], ["A": "1", "b": "2"]]
        for wrong in wrongContexts {
            #expect(throws: KMSError(code: .invalidCiphertext, message: "")) { try parsed.open(with: self.material, context: wrong) }
        }
        #expect(throws: KMSError(code: .invalidCiphertext, message: "")) {
            try parsed.open(with: KeyMaterial.generate(), context: context)
        }
    }

    @Test("canonical context encoding is injective for boundary-shifting pairs")
    func canonicalEncodingInjective() {
        let a: EncryptionContext = ["a": "bc"]
        let b: EncryptionContext = ["ab": "c"]
        #expect(a.canonicalEncoding != b.canonicalEncoding)
        #expect(EncryptionContext().canonicalEncoding == [0, 0, 0, 0])
    }

    @Test("random salt and nonce: sealing twice gives different blobs")
    func freshness() throws {
        let one = try CiphertextBlob.seal([7], keyID: self.keyID, materialVersion: 1, material: self.material, context: [:])
        let two = try CiphertextBlob.seal([7], keyID: self.keyID, materialVersion: 1, material: self.material, context: [:])
        #expect(one.bytes != two.bytes)
    }

    @Test("every single-bit flip anywhere in the blob is rejected")
    func bitFlips() throws {
        let blob = try CiphertextBlob.seal(Array("patient record key".utf8), keyID: self.keyID, materialVersion: 1, material: self.material, context: ["k": "v"])
        let bytes = blob.bytes
        for bit in 0..<(bytes.count * 8) {
            var flipped = bytes
            flipped[bit / 8] ^= 1 << (bit % 8)
            #expect(throws: KMSError(code: .invalidCiphertext, message: "")) {
                // A flip in the key id or version would, in the service, look up other material;
                // here the same material is used, so authentication must catch every flip.
                try CiphertextBlob(parsing: flipped).open(with: self.material, context: ["k": "v"])
            }
        }
    }

    @Test("every truncation is rejected, and trailing bytes are rejected")
    func truncationAndTrailingGarbage() throws {
        let blob = try CiphertextBlob.seal([1, 2, 3, 4], keyID: self.keyID, materialVersion: 1, material: self.material, context: [:])
        let bytes = blob.bytes
        for length in 0..<bytes.count {
            #expect(throws: KMSError(code: .invalidCiphertext, message: "")) {
                try CiphertextBlob(parsing: bytes[0..<length]).open(with: self.material, context: [:])
            }
        }
        for garbage in [[0], [0, 0, 0, 0], Array(bytes.suffix(16))] as [[UInt8]] {
            #expect(throws: KMSError(code: .invalidCiphertext, message: "")) {
                try CiphertextBlob(parsing: bytes + garbage).open(with: self.material, context: [:])
            }
        }
    }

    @Test("unknown format versions are rejected before anything else", arguments: [0, 2, 0x7F, 0xFF] as [UInt8])
    func wrongVersion(version: UInt8) throws {
        var bytes = try CiphertextBlob.seal([1], keyID: self.keyID, materialVersion: 1, material: self.material, context: [:]).bytes
        bytes[0] = version
        let error = #expect(throws: KMSError.self) { try CiphertextBlob(parsing: bytes) }
        #expect(error?.code == .invalidCiphertext)
        #expect(error?.message.contains("format version") == true)
    }

    @Test("oversized blobs are rejected by size before parsing")
    func oversized() {
        let limits = CiphertextLimits()
        let maximum = CiphertextBlob.headerByteCount + limits.maximumPlaintextBytes + 16
        var bytes = [UInt8](repeating: 0, count: maximum + 1)
        bytes[0] = 1
        let error = #expect(throws: KMSError.self) { try CiphertextBlob(parsing: bytes) }
        #expect(error?.code == .invalidCiphertext)
        #expect(error?.message.contains("too long") == true)
        #expect(throws: KMSError(code: .invalidCiphertext, message: "")) {
            try CiphertextBlob(parsing: [UInt8](repeating: 1, count: 1 << 20))
        }
    }

    @Test("plaintext limits: empty and oversized are ValidationException; the maximum round-trips")
    func plaintextLimits() throws {
        #expect(throws: KMSError(code: .validation, message: "")) {
            try CiphertextBlob.seal([UInt8](), keyID: self.keyID, materialVersion: 1, material: self.material, context: [:])
        }
        #expect(throws: KMSError(code: .validation, message: "")) {
            try CiphertextBlob.seal([UInt8](repeating: 1, count: 4097), keyID: self.keyID, materialVersion: 1, material: self.material, context: [:])
        }
        let largest = [UInt8](repeating: 0xAB, count: 4096)
        let blob = try CiphertextBlob.seal(largest, keyID: self.keyID, materialVersion: 1, material: self.material, context: [:])
        #expect(try CiphertextBlob(parsing: blob.bytes).open(with: self.material, context: [:]) == largest)
    }

    @Test("encryption context limits are ValidationException")
    func contextLimits() {
        #expect(throws: KMSError(code: .validation, message: "")) {
            try CiphertextBlob.seal([1], keyID: self.keyID, materialVersion: 1, material: self.material, context: ["": "v"])
        }
        let huge = EncryptionContext(["k": String(repeating: "v", count: 8192)])
        #expect(throws: KMSError(code: .validation, message: "")) {
            try CiphertextBlob.seal([1], keyID: self.keyID, materialVersion: 1, material: self.material, context: huge)
        }
    }

    @Test("random garbage of every plausible size is rejected and never crashes")
    func garbage() {
        var generator = SplitMix64(seed: 0x6B65_796C_616B_65)
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...200, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if !bytes.isEmpty && Bool.random(using: &generator) { bytes[0] = 1 }
            #expect(throws: KMSError(code: .invalidCiphertext, message: "")) {
                try CiphertextBlob(parsing: bytes).open(with: self.material, context: [:])
            }
        }
    }

    @Test("error messages never contain the plaintext")
    func messagesDoNotLeak() throws {
        let secret = "SECRET-PLAINTEXT-MARKER"
        let blob = try CiphertextBlob.seal(Array(secret.utf8), keyID: self.keyID, materialVersion: 1, material: self.material, context: ["a": "b"])
        let error = #expect(throws: KMSError.self) { try blob.open(with: self.material, context: [:]) }
        #expect(error.map { !"\($0)".contains(secret) } == true)
    }
}

import Crypto
import Foundation
import Testing

@testable import DataStore

@Suite("envelope encryption")
struct EnvelopeCipherTests {
    static let context = EncryptionContext(datastoreID: "ds-1", resourceType: "Patient", resourceID: "p-1", versionID: "1")

    func dataKey(_ layer: KeyLayer, _ keyHex: String, _ wrappedHex: String, _ keyID: String) throws -> DataKey {
        var plaintext = Hex.decode(keyHex)
        return try DataKey(layer: layer, keyID: keyID, wrapped: Hex.decode(wrappedHex), plaintext: &plaintext)
    }

    @Test("known-answer vectors from an independent implementation", arguments: KnownAnswerVectors.sealCases)
    func knownAnswers(_ vector: KnownAnswerVectors.SealCase) throws {
        let context = EncryptionContext(
            datastoreID: vector.datastoreID, resourceType: vector.resourceType,
            resourceID: vector.resourceID, versionID: vector.versionID
        )
        let service = try self.dataKey(.serviceOwned, KnownAnswerVectors.serviceKey, KnownAnswerVectors.serviceWrapped, KnownAnswerVectors.serviceKeyID)
        let customer = try self.dataKey(.customerManaged, KnownAnswerVectors.customerKey, KnownAnswerVectors.customerWrapped, KnownAnswerVectors.customerKeyID)
        let keys = vector.customerManaged ? [customer, service] : [service]
        let nonces = (vector.customerManaged ? [KnownAnswerVectors.customerNonce, KnownAnswerVectors.serviceNonce] : [KnownAnswerVectors.serviceNonce]).map(Hex.decode)
        let sealed = try EnvelopeCipher.seal(Hex.decode(vector.plaintext), context: context, keys: keys, nonces: nonces)
        #expect(Hex.encode(sealed.serialized()) == vector.sealed)
        let parsed = try SealedResource(serialized: Hex.decode(vector.sealed))
        #expect(parsed == sealed)
        let opened = try EnvelopeCipher.open(parsed, context: context, keys: keys.map(\.plaintext))
        #expect(Hex.encode(opened) == vector.plaintext)
    }

    @Test("index key derivation and tokens match the vectors")
    func indexKeyVectors() throws {
        let service = SymmetricKey(data: Hex.decode(KnownAnswerVectors.serviceKey))
        let customer = SymmetricKey(data: Hex.decode(KnownAnswerVectors.customerKey))
        let one = BlindIndexKey(deriving: [service], datastoreID: "ds-1")
        let two = BlindIndexKey(deriving: [customer, service], datastoreID: "ds-2")
        #expect(one.key.withUnsafeBytes { Hex.encode($0) } == KnownAnswerVectors.serviceIndexKey)
        #expect(two.key.withUnsafeBytes { Hex.encode($0) } == KnownAnswerVectors.twoLayerIndexKey)
        for (qualified, normalized, token) in KnownAnswerVectors.tokens {
            #expect(Hex.encode(BlindIndex.token(key: one, qualifiedName: qualified, normalizedValue: normalized).bytes) == token)
        }
    }

    @Test("seal and open through a key provider, one and two layers")
    func roundTrip() async throws {
        let keys = FakeKeyService()
        let cipher = EnvelopeCipher(provider: keys)
        let plaintext = try Synthea.lines("Patient")[0]
        for customerManaged in [false, true] {
            let layers = KeyLayer.layers(customerManaged: customerManaged)
            let sealed = try await cipher.seal(plaintext, context: Self.context, layers: layers)
            #expect(sealed.layers.map(\.layer) == layers)
            let reparsed = try SealedResource(serialized: sealed.serialized())
            #expect(try await cipher.open(reparsed, context: Self.context) == plaintext)
            // No plaintext in the sealed bytes.
            #expect(!sealed.serialized().contains(subsequence: Array("Medhurst46".utf8)))
        }
    }

    @Test("a ciphertext read as another datastore, type, resource or version fails to decrypt")
    func movedCiphertext() async throws {
        let cipher = EnvelopeCipher(provider: FakeKeyService())
        let sealed = try await cipher.seal(Array("secret".utf8), context: Self.context, layers: KeyLayer.layers(customerManaged: true))
        // Opening with the right keys under another context: the AAD binding fails.
        for other in [
            EncryptionContext(datastoreID: "ds-2", resourceType: "Patient", resourceID: "p-1", versionID: "1"),
            EncryptionContext(datastoreID: "ds-1", resourceType: "Person", resourceID: "p-1", versionID: "1"),
            EncryptionContext(datastoreID: "ds-1", resourceType: "Patient", resourceID: "p-2", versionID: "1"),
            EncryptionContext(datastoreID: "ds-1", resourceType: "Patient", resourceID: "p-1", versionID: "2"),
        ] {
            await #expect(throws: DataStoreError.self) { try await cipher.open(sealed, context: other) }
        }
        // Even if the key service released the keys, the AES-GCM binding alone catches the move.
        let service = try self.dataKey(.serviceOwned, KnownAnswerVectors.serviceKey, KnownAnswerVectors.serviceWrapped, "k")
        let local = try EnvelopeCipher.seal(Array("secret".utf8), context: Self.context, keys: [service])
        let moved = EncryptionContext(datastoreID: "ds-1", resourceType: "Patient", resourceID: "p-1", versionID: "2")
        #expect(throws: DataStoreError(code: .decryptionFailed, message: "")) {
            try EnvelopeCipher.open(local, context: moved, keys: [service.plaintext])
        }
    }

    @Test("every truncation and every bit flip is an error, never wrong data")
    func tampering() throws {
        let service = try self.dataKey(.serviceOwned, KnownAnswerVectors.serviceKey, KnownAnswerVectors.serviceWrapped, "k")
        let customer = try self.dataKey(.customerManaged, KnownAnswerVectors.customerKey, KnownAnswerVectors.customerWrapped, "c")
        let plaintext = Array(#"{"resourceType":"Patient"}"#.utf8)
        let sealed = try EnvelopeCipher.seal(plaintext, context: Self.context, keys: [customer, service]).serialized()
        let keys = [customer.plaintext, service.plaintext]
        for length in 0..<sealed.count {
            #expect(throws: DataStoreError.self) {
                try EnvelopeCipher.open(SealedResource(serialized: Array(sealed[..<length])), context: Self.context, keys: keys)
            }
        }
        #expect(throws: DataStoreError.self) { try SealedResource(serialized: sealed + [0]) }
        for index in sealed.indices {
            for bit in [0, 3, 7] {
                var flipped = sealed
                flipped[index] ^= 1 << bit
                #expect(throws: DataStoreError.self) {
                    try EnvelopeCipher.open(SealedResource(serialized: flipped), context: Self.context, keys: keys)
                }
            }
        }
    }

    @Test("the parser rejects wrong layer lists and unknown versions")
    func strictParser() throws {
        let service = try self.dataKey(.serviceOwned, KnownAnswerVectors.serviceKey, KnownAnswerVectors.serviceWrapped, "k")
        var bytes = try EnvelopeCipher.seal([1, 2, 3], context: Self.context, keys: [service]).serialized()
        bytes[0] = 2
        #expect(throws: DataStoreError(code: .malformedSealedResource, message: "")) { try SealedResource(serialized: bytes) }
        bytes[0] = 1
        bytes[2] = KeyLayer.customerManaged.rawValue
        #expect(throws: DataStoreError(code: .malformedSealedResource, message: "")) { try SealedResource(serialized: bytes) }
        // Keys for the wrong layers are refused when sealing.
        #expect(throws: DataStoreError(code: .invalidDataKey, message: "")) {
            try EnvelopeCipher.seal([1], context: Self.context, keys: [service, service])
        }
    }

    @Test("both layers' keys are requested concurrently, and never cached")
    func concurrentAndUncached() async throws {
        // Each call stays in flight until the other layer's call arrived too (or a minute passed,
        // which only calls made one after another would wait out): two in flight at once proves
        // the overlap, however late a loaded machine starts the second (a fixed latency or a
        // wall-clock bound would be flaky).
        let keys = FakeKeyService(meetInGroupsOf: 2)
        let cipher = EnvelopeCipher(provider: keys)
        let sealed = try await cipher.seal([1, 2, 3], context: Self.context, layers: KeyLayer.layers(customerManaged: true))
        #expect(keys.snapshot.maximumInFlight == 2)
        for _ in 0..<3 { _ = try await cipher.open(sealed, context: Self.context) }
        #expect(keys.snapshot.maximumInFlight == 2)
        #expect(keys.snapshot.generateCalls == 2)
        #expect(keys.snapshot.decryptCalls == 6)
    }

    @Test("a refused key gives keyUnavailable naming the layer, with the provider's error as cause")
    func refusedKey() async throws {
        let keys = FakeKeyService()
        let cipher = EnvelopeCipher(provider: keys)
        let sealed = try await cipher.seal([1], context: Self.context, layers: KeyLayer.layers(customerManaged: true))
        keys.refuse(.customerManaged)
        do {
            _ = try await cipher.open(sealed, context: Self.context)
            Issue.record("opened with a refused key")
        } catch let error as DataStoreError {
            #expect(error.code == .keyUnavailable)
            #expect(error.message.contains("customer-managed"))
            #expect(error.cause is FakeKeyService.Refused)
        }
        await #expect(throws: DataStoreError(code: .keyUnavailable, message: "")) {
            try await cipher.seal([1], context: Self.context, layers: KeyLayer.layers(customerManaged: true))
        }
        keys.allow(.customerManaged)
        #expect(try await cipher.open(sealed, context: Self.context) == [1])
    }

    @Test("a data key's source bytes are zeroed, and wrong sizes are refused")
    func dataKeyZeroing() throws {
        var bytes = [UInt8](repeating: 7, count: 32)
        _ = try DataKey(layer: .serviceOwned, keyID: "k", wrapped: [1], plaintext: &bytes)
        #expect(bytes == [UInt8](repeating: 0, count: 32))
        var short = [UInt8](repeating: 7, count: 16)
        #expect(throws: DataStoreError(code: .invalidDataKey, message: "")) {
            try DataKey(layer: .serviceOwned, keyID: "k", wrapped: [1], plaintext: &short)
        }
        #expect(short == [UInt8](repeating: 0, count: 16))
    }

    @Test("wrapped index keys round-trip and unwrap to the same key")
    func indexKeys() async throws {
        let keys = FakeKeyService()
        let cipher = EnvelopeCipher(provider: keys)
        let (key, wrapped) = try await cipher.newIndexKey(datastoreID: "ds-9", layers: KeyLayer.layers(customerManaged: true))
        let parsed = try WrappedIndexKey(serialized: wrapped.serialized())
        #expect(parsed == wrapped)
        let unwrapped = try await cipher.indexKey(unwrapping: parsed, datastoreID: "ds-9")
        #expect(unwrapped.key == key.key)
        await #expect(throws: DataStoreError.self) { try await cipher.indexKey(unwrapping: parsed, datastoreID: "ds-8") }
        let bytes = wrapped.serialized()
        for length in 0..<bytes.count {
            #expect(throws: DataStoreError.self) { try WrappedIndexKey(serialized: Array(bytes[..<length])) }
        }
    }
}

// Ciphertext formats that come back from outside: a KMS ciphertext blob as Decrypt receives it
// (CiphertextBlob(parsing:), then opening it as Decrypt does), and fhird's stored binary forms
// read back from the database: SealedResource(serialized:) (and each layer's wrapped data key,
// which is a KMS blob, as kmsd parses it) and the wrapped blind-index key
// WrappedIndexKey(serialized:), then opened with the keys the seeds were made with.
//
// Input: the bytes, given to every parser. Properties: whatever parses serialises back to the
// same bytes; opening fails with the module's error, never a trap.

import Crypto
import Foundation
import FuzzSupport

@testable import DataStore
@testable import KMS

/// The key material and data keys the seeds are sealed with, so seeds open and their mutants
/// reach the authentication check.
private let material = try! KeyMaterial(bytes: [UInt8](repeating: 0x11, count: 32))
private let kmsContext: KMS.EncryptionContext = ["aws:healthlake:datastore": "0123456789abcdef0123456789abcdef"]
nonisolated(unsafe) private let layerKeys = [SymmetricKey(data: [UInt8](repeating: 0x22, count: 32)), SymmetricKey(data: [UInt8](repeating: 0x33, count: 32))]
private let resourceContext = DataStore.EncryptionContext(
    datastoreID: "0123456789abcdef0123456789abcdef", resourceType: "Patient", resourceID: "example", versionID: "1")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = bytes(data, size)

    if let blob = try? CiphertextBlob(parsing: input) {
        require(blob.bytes == input, "a ciphertext blob does not serialise back to its bytes")
        expectKMSError { _ = try blob.open(with: material, context: kmsContext) }
        expectKMSError { _ = try blob.open(with: material, context: [:]) }
    }

    if let sealed = try? SealedResource(serialized: input) {
        require(sealed.serialized() == input, "a sealed resource does not serialise back to its bytes")
        for layer in sealed.layers {
            _ = try? CiphertextBlob(parsing: layer.wrappedKey)
        }
        let keys = Array(layerKeys.suffix(sealed.layers.count))
        expectDataStoreError { _ = try EnvelopeCipher.open(sealed, context: resourceContext, keys: keys) }
        expectDataStoreError { _ = try EnvelopeCipher.open(sealed, context: resourceContext, keys: []) }
    }

    if let wrapped = try? WrappedIndexKey(serialized: input) {
        require(wrapped.serialized() == input, "a wrapped index key does not serialise back to its bytes")
        for layer in wrapped.layers {
            _ = try? CiphertextBlob(parsing: layer.wrappedKey)
        }
    }
    return 0
}

/// Runs `body`; it may succeed (a seed made with these keys) or fail with a KMSError only.
private func expectKMSError(_ body: () throws -> Void) {
    do { try body() } catch is KMSError {} catch { fatalError("unexpected error type: \(error)") }
}

/// Runs `body`; it may succeed or fail with a DataStoreError only.
private func expectDataStoreError(_ body: () throws -> Void) {
    do { try body() } catch is DataStoreError {} catch { fatalError("unexpected error type: \(error)") }
}

// MARK: - Seeds

@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    makeCorpusIfAsked(argc, argv, seeds: seeds)
    return 0
}

/// Made by the production writers: blobs from CiphertextBlob.seal (as Encrypt and GenerateDataKey
/// make them), sealed resources from EnvelopeCipher.seal with data keys whose wrapped form is such
/// a blob (one and two layers), and wrapped index keys.
private func seeds() throws -> [Seed] {
    let keyID = KeyID(UUID(uuidString: "1234abcd-12ab-34cd-56ef-1234567890ab")!)
    func blob(_ plaintext: [UInt8], version: UInt32 = 1, context: KMS.EncryptionContext = kmsContext) throws -> [UInt8] {
        try CiphertextBlob.seal(plaintext, keyID: keyID, materialVersion: version, material: material, context: context).bytes
    }
    func dataKey(_ layer: KeyLayer, _ key: SymmetricKey, keyID: String) throws -> DataKey {
        var plaintext = key.withUnsafeBytes { Array($0) }
        return try DataKey(layer: layer, keyID: keyID, wrapped: try blob(plaintext), plaintext: &plaintext)
    }
    let serviceKey = try dataKey(.serviceOwned, layerKeys[1], keyID: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    let customerKey = try dataKey(.customerManaged, layerKeys[0], keyID: "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000")
    let patient = Array(#"{"resourceType":"Patient","id":"example","meta":{"versionId":"1","lastUpdated":"2024-01-01T00:00:00.000Z"},"name":[{"family":"Smith"}]}"#.utf8)
    let oneLayer = try EnvelopeCipher.seal(patient, context: resourceContext, keys: [serviceKey])
    let twoLayers = try EnvelopeCipher.seal(patient, context: resourceContext, keys: [customerKey, serviceKey])
    let indexKey = WrappedIndexKey(layers: [customerKey, serviceKey].map {
        WrappedIndexKey.Layer(layer: $0.layer, keyID: $0.keyID, wrappedKey: $0.wrapped)
    })
    return [
        Seed("blob-data-key", try blob([UInt8](repeating: 0x5a, count: 32))),
        Seed("blob-short", try blob([1])),
        Seed("blob-version-7-no-context", try blob(Array("hello".utf8), version: 7, context: [:])),
        Seed("sealed-service-owned", oneLayer.serialized()),
        Seed("sealed-customer-managed", twoLayers.serialized()),
        Seed("wrapped-index-key", indexKey.serialized()),
    ]
}

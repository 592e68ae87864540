/// The encryption context of a request: non-secret key–value pairs that are authenticated with
/// the ciphertext and must be given again, exactly, to decrypt.
///
/// Order does not matter: the context is canonicalised (see ``canonicalEncoding``) before it is
/// bound as additional authenticated data.
public struct EncryptionContext: Hashable, Sendable, ExpressibleByDictionaryLiteral {
    /// The pairs, as the caller gave them.
    public var pairs: [String: String]

    /// Creates a context from pairs.
    public init(_ pairs: [String: String] = [:]) {
        self.pairs = pairs
    }

    /// Creates a context from a dictionary literal.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.pairs = Dictionary(elements, uniquingKeysWith: { _, last in last })
    }

    /// Whether the context has no pairs; AWS treats an empty context as no context.
    public var isEmpty: Bool { self.pairs.isEmpty }

    /// The canonical byte form that is bound as additional authenticated data.
    ///
    /// Layout, all integers big-endian: pair count (UInt32), then for each pair in ascending
    /// order of the key's UTF-8 bytes: key length (UInt32), key UTF-8, value length (UInt32),
    /// value UTF-8. Length prefixes make the encoding injective: no two different contexts share
    /// an encoding, so `{"a": "bc"}` and `{"ab": "c"}` cannot be confused.
    public var canonicalEncoding: [UInt8] {
        let sorted = self.pairs
            .map { (key: Array($0.key.utf8), value: Array($0.value.utf8)) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        var bytes = [UInt8]()
        bytes.appendBigEndian(UInt32(sorted.count))
        for pair in sorted {
            bytes.appendBigEndian(UInt32(pair.key.count))
            bytes.append(contentsOf: pair.key)
            bytes.appendBigEndian(UInt32(pair.value.count))
            bytes.append(contentsOf: pair.value)
        }
        return bytes
    }

    /// Checks the context against the limits.
    ///
    /// - Throws: ``KMSError`` `ValidationException` if a key is empty or the context is too large.
    public func validate(limits: CiphertextLimits = CiphertextLimits()) throws {
        var total = 0
        for (key, value) in self.pairs {
            guard !key.isEmpty else {
                throw KMSError.validation("encryption context keys must not be empty")
            }
            total += key.utf8.count + value.utf8.count
        }
        guard total <= limits.maximumEncryptionContextBytes else {
            throw KMSError.validation(
                "encryption context is \(total) bytes; the limit is \(limits.maximumEncryptionContextBytes)"
            )
        }
    }
}

import Crypto

/// The secret of one version of a KMS key: 32 random bytes that never leave `kmsd` in clear.
///
/// Its ``description`` is redacted so that the material cannot end up in a log line or error
/// message by accident.
///
/// `@unchecked Sendable`: `SymmetricKey` is an immutable value (its storage is never mutated after
/// creation) but swift-crypto 3.12 does not declare it `Sendable`.
public struct KeyMaterial: @unchecked Sendable, Equatable, CustomStringConvertible {
    /// The number of bytes of material per key version (AES-256).
    public static let byteCount = 32

    let key: SymmetricKey

    /// Wraps existing bytes.
    ///
    /// - Throws: ``KMSError`` `KMSInternalException` if `bytes` is not exactly ``byteCount`` long.
    public init<Bytes: Collection<UInt8>>(bytes: Bytes) throws {
        let key = SymmetricKey(data: Array(bytes))
        guard key.bitCount == Self.byteCount * 8 else {
            throw KMSError.internalFailure("key material must be \(Self.byteCount) bytes")
        }
        self.key = key
    }

    /// Makes fresh material from the system's secure random generator.
    public static func generate() -> KeyMaterial {
        KeyMaterial(key: SymmetricKey(size: .bits256))
    }

    private init(key: SymmetricKey) {
        self.key = key
    }

    /// Calls `body` with the raw bytes; for wrapping only. Do not let them escape.
    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try self.key.withUnsafeBytes(body)
    }

    /// A redacted placeholder; the material itself is never printed.
    public var description: String { "KeyMaterial(redacted)" }
}

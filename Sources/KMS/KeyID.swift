import Foundation

/// The identifier of a KMS key: a UUID, written in lower case as AWS KMS does
/// (`1234abcd-12ab-34cd-56ef-1234567890ab`).
public struct KeyID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The underlying UUID.
    public let uuid: UUID

    /// Wraps an existing UUID.
    public init(_ uuid: UUID) {
        self.uuid = uuid
    }

    /// Makes a new random key id.
    public static func generate() -> KeyID {
        KeyID(UUID())
    }

    /// Parses the textual form; accepts either case. Returns `nil` if it is not a UUID.
    public init?(_ string: String) {
        guard let uuid = UUID(uuidString: string) else { return nil }
        self.uuid = uuid
    }

    /// Reads the 16-byte binary form used in ciphertext blobs.
    ///
    /// - Precondition: `bytes` holds exactly 16 bytes.
    init<Bytes: Collection<UInt8>>(binary bytes: Bytes) {
        precondition(bytes.count == 16, "a key id is 16 bytes")
        let b = Array(bytes)
        self.uuid = UUID(uuid: (
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
            b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
        ))
    }

    /// The 16-byte binary form (RFC 4122 byte order).
    public var binary: [UInt8] {
        withUnsafeBytes(of: self.uuid.uuid) { Array($0) }
    }

    /// The lower-case textual form, as in key ARNs.
    public var description: String {
        self.uuid.uuidString.lowercased()
    }

    /// Orders by textual form, which is how `ListKeys` pages are ordered.
    public static func < (lhs: KeyID, rhs: KeyID) -> Bool {
        lhs.description < rhs.description
    }
}

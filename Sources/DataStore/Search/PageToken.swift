import Crypto

/// The opaque token of a search page: where the page starts, authenticated so that a client
/// cannot forge, alter or move it to another search or datastore.
///
/// Format version 1, then base64url without padding:
/// `u8 version (1), u8 sort, i64 snapshot, i64 cursor lastUpdated, u8 id length, id,
/// 16-byte query digest, 16-byte tag` (integers big-endian), where the tag is the first 16
/// bytes of HMAC-SHA256 over everything before it, under a key derived from the datastore's
/// index key (HKDF-SHA256, info `keylake-fhir search page token v1` and the datastore id).
///
/// The token is authenticated, not encrypted: it shows the id and `lastUpdated` of the last
/// resource of the previous page, which that page already showed. The snapshot is the time of
/// the first page: later pages leave out resources changed after it, so paging neither
/// repeats nor grows while resources are written.
public struct PageToken: Hashable, Sendable {
    /// The order the pages follow.
    public var sort: SearchSort
    /// The first page's time (milliseconds since 1970): resources updated later are left out.
    public var snapshot: Int64
    /// The page starts after this position.
    public var cursor: SearchCursor
    /// ``SearchQuery/digest`` of the search the token belongs to.
    public var queryDigest: [UInt8]

    /// Creates a token.
    public init(sort: SearchSort, snapshot: Int64, cursor: SearchCursor, queryDigest: [UInt8]) {
        self.sort = sort
        self.snapshot = snapshot
        self.cursor = cursor
        self.queryDigest = queryDigest
    }

    /// The token's text under `key` for `datastoreID`.
    public func encoded(key: BlindIndexKey, datastoreID: String) -> String {
        var bytes: [UInt8] = [1, self.sort.rawValue]
        bytes.appendBigEndian(UInt64(bitPattern: self.snapshot))
        bytes.appendBigEndian(UInt64(bitPattern: self.cursor.lastUpdated))
        let id = Array(self.cursor.resourceID.utf8)
        bytes.append(UInt8(id.count))
        bytes += id
        bytes += self.queryDigest
        bytes += Self.tag(bytes, key: key, datastoreID: datastoreID)
        return Self.base64URL(bytes)
    }

    /// Decodes and authenticates a token.
    ///
    /// - Throws: ``DataStoreError`` `invalidRequest` ("the page token is not one this service
    ///   returned for this search") for anything that is not an intact token of this datastore
    ///   and this search, or longer than `maximumLength`.
    public init(decoding text: String, key: BlindIndexKey, datastoreID: String, query: SearchQuery, maximumLength: Int) throws {
        let invalid = DataStoreError(code: .invalidRequest, message: "the page token is not one this service returned for this search")
        guard text.utf8.count <= maximumLength, let bytes = Self.decodeBase64URL(text), bytes.count >= 2 + 16 + 1 + 32 else {
            throw invalid
        }
        let body = Array(bytes.dropLast(16))
        let tag = Array(bytes.suffix(16))
        guard Self.constantTimeEqual(Self.tag(body, key: key, datastoreID: datastoreID), tag) else { throw invalid }
        var reader = ByteReader(body)
        do {
            guard try reader.byte() == 1, let sort = SearchSort(rawValue: try reader.byte()) else { throw invalid }
            let snapshot = Int64(bitPattern: UInt64(try reader.uint32()) << 32 | UInt64(try reader.uint32()))
            let lastUpdated = Int64(bitPattern: UInt64(try reader.uint32()) << 32 | UInt64(try reader.uint32()))
            let id = try reader.bytes(Int(try reader.byte()))
            let digest = try reader.bytes(16)
            guard reader.remaining == 0, let resourceID = String(validating: id, as: UTF8.self), FHIRResource.isValidID(resourceID),
                sort == query.sort, digest == query.digest
            else { throw invalid }
            self.init(sort: sort, snapshot: snapshot, cursor: SearchCursor(lastUpdated: lastUpdated, resourceID: resourceID), queryDigest: digest)
        } catch {
            throw invalid
        }
    }

    private static func tag(_ bytes: [UInt8], key: BlindIndexKey, datastoreID: String) -> [UInt8] {
        let tokenKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key.key, info: Array("keylake-fhir search page token v1".utf8) + [0] + Array(datastoreID.utf8),
            outputByteCount: 32)
        return Array(HMAC<SHA256>.authenticationCode(for: bytes, using: tokenKey).prefix(16))
    }

    private static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func base64URL(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for position in 0..<(chunk.count + 1) {
                output.append(Self.alphabet[Int(value >> (18 - 6 * UInt32(position)) & 63)])
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func decodeBase64URL(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for byte in text.utf8 {
            guard let position = Self.alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt8(position))
        }
        guard values.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (18 - 6 * UInt32($1.offset)) }
            for position in 0..<(chunk.count - 1) {
                output.append(UInt8(truncatingIfNeeded: value >> (16 - 8 * UInt32(position))))
            }
            index += 4
        }
        // Canonical form only: re-encoding gives the same text.
        guard Self.base64URL(output) == text else { return nil }
        return output
    }
}

import Crypto

/// Cryptographically secure random bytes.
///
/// They come from BoringSSL's `RAND_bytes` (through swift-crypto's `SymmetricKey(size:)`): a
/// CSPRNG seeded from the operating system (`getrandom` on Linux) that fills a whole request in
/// user space, which is what salts, nonces and key material need. Several are drawn for every
/// cryptographic call; the standard library's generator makes one system call per 8 bytes.
enum SecureRandom {
    /// Returns `count` random bytes.
    static func bytes(count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Array($0) }
    }
}

extension SecureRandom {
    /// A random version-4 UUID in lower-case text.
    ///
    /// Built from `getrandom` bytes rather than Foundation's `UUID()`, which on Linux opens a file
    /// per call.
    static func uuidString() -> String {
        var bytes = Self.bytes(count: 16)
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return Self.uuidText(bytes)
    }

    /// A version-7 UUID (RFC 9562) in lower-case text: 48 bits of Unix milliseconds, then 74
    /// random bits. Audit event ids use it so that consecutive events land next to each other in
    /// the unique index on `event_id`, instead of each dirtying a random index page that every
    /// commit must write to the log and fsync.
    static func timeOrderedUUIDString(milliseconds: Int64) -> String {
        var bytes = Self.bytes(count: 16)
        let time = UInt64(clamping: max(0, milliseconds))
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: time >> (8 * (5 - index))) }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return Self.uuidText(bytes)
    }

    private static func uuidText(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

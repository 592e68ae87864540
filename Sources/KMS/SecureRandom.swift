#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Cryptographically secure random bytes from the operating system's CSPRNG.
///
/// Several are drawn for every cryptographic call (data key, salt, nonce, event id). The
/// standard library's generator (and swift-crypto's, which uses it) makes one `getrandom` system
/// call per 8 bytes; this reads each request whole: `arc4random_buf` on Darwin, one `read` of
/// `/dev/urandom` (the same kernel CSPRNG as `getrandom`) on Linux, falling back to the standard
/// library's generator if the device cannot be read.
enum SecureRandom {
    /// Returns `count` random bytes.
    static func bytes(count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            Self.fill(UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Fills `buffer` with random bytes.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        #if canImport(Darwin)
        arc4random_buf(base, buffer.count)
        #else
        var offset = 0
        while offset < buffer.count, Self.device >= 0 {
            let count = read(Self.device, base + offset, buffer.count - offset)
            if count > 0 {
                offset += count
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        var generator = SystemRandomNumberGenerator()
        while offset < buffer.count {
            buffer[offset] = UInt8(truncatingIfNeeded: generator.next() as UInt64)
            offset += 1
        }
        #endif
    }

    #if !canImport(Darwin)
    /// `/dev/urandom`, opened once; -1 when it cannot be opened.
    private static let device: Int32 = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
    #endif
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

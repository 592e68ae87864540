#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Array where Element == UInt8 {
    /// Whether `subsequence` occurs anywhere in these bytes (first-byte scan with `memchr`,
    /// then `memcmp`: fast even in debug builds).
    func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, subsequence.count <= self.count else { return false }
        return self.withUnsafeBytes { haystack in
            subsequence.withUnsafeBytes { needle in
                let base = haystack.baseAddress!
                let first = Int32(needle[0])
                var offset = 0
                let last = haystack.count - needle.count
                while offset <= last {
                    guard let hit = memchr(base + offset, first, last - offset + 1) else { return false }
                    let position = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + position, needle.baseAddress!, needle.count) == 0 { return true }
                    offset = position + 1
                }
                return false
            }
        }
    }
}

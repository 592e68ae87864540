/// Cryptographically secure random bytes from the system CSPRNG (`getrandom` on Linux).
enum SecureRandom {
    /// Returns `count` random bytes.
    static func bytes(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var result = [UInt8]()
        result.reserveCapacity(count)
        while result.count < count {
            var word = generator.next() as UInt64
            for _ in 0..<min(8, count - result.count) {
                result.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return result
    }
}

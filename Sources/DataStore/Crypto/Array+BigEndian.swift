extension Array where Element == UInt8 {
    /// Appends an integer in big-endian byte order.
    mutating func appendBigEndian<Integer: FixedWidthInteger>(_ value: Integer) {
        var bigEndian = value.bigEndian
        Swift.withUnsafeBytes(of: &bigEndian) { self.append(contentsOf: $0) }
    }

    /// Overwrites every byte with zero, in place.
    ///
    /// Best effort: it clears this buffer, not copies made earlier. Used on plaintext data keys
    /// as soon as they have been moved into a `SymmetricKey` (which wipes its own storage).
    mutating func zeroize() {
        self.withUnsafeMutableBufferPointer { buffer in
            buffer.update(repeating: 0)
        }
    }
}

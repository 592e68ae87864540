public import GRPCCore
public import NIOCore

/// The byte container GRPCCore uses with the Keylake transport: a `ByteBuffer`, so message bytes
/// move from the socket to the deserializer without copies.
public struct TransportBytes: GRPCContiguousBytes, Hashable, Sendable {
    /// The bytes.
    public var buffer: ByteBuffer

    /// Wraps a buffer.
    public init(_ buffer: ByteBuffer) { self.buffer = buffer }

    public init(repeating byte: UInt8, count: Int) {
        self.buffer = ByteBuffer(repeating: byte, count: count)
    }

    public init(_ sequence: some Sequence<UInt8>) {
        self.buffer = ByteBuffer(bytes: sequence)
    }

    public var count: Int { self.buffer.readableBytes }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.buffer.withUnsafeReadableBytes(body)
    }

    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try self.buffer.withUnsafeMutableReadableBytes(body)
    }
}

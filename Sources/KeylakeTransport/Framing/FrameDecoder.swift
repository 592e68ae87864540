import NIOCore

/// Decodes frames from a byte stream, checking limits from the header before any payload is kept.
///
/// The decoder is a pure value: feed it bytes with ``decode(buffer:)`` and it returns complete
/// frames. A header announcing more than ``maxFrameSize`` bytes, an unknown frame type or a
/// stream id that does not fit the frame type is rejected as soon as its 10 header bytes have
/// arrived, so a hostile peer cannot make the decoder buffer an oversized payload.
package struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = Frame

    /// Largest payload accepted, in bytes.
    package var maxFrameSize: Int

    package init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    /// Returns the next complete frame in `buffer`, or nil when more bytes are needed.
    ///
    /// - Throws: ``ProtocolViolation`` when the header is invalid; the connection must end.
    package mutating func decode(buffer: inout ByteBuffer) throws -> Frame? {
        guard buffer.readableBytes >= Frame.headerSize else { return nil }
        let start = buffer.readerIndex
        guard
            let length = buffer.getInteger(at: start, as: UInt32.self),
            let rawType = buffer.getInteger(at: start + 4, as: UInt8.self),
            let rawFlags = buffer.getInteger(at: start + 5, as: UInt8.self),
            let streamID = buffer.getInteger(at: start + 6, as: UInt32.self)
        else { return nil }

        guard Int(length) <= self.maxFrameSize else {
            throw ProtocolViolation(
                .frameTooLarge, "frame of \(length) bytes exceeds the limit of \(self.maxFrameSize) bytes")
        }
        guard let type = FrameType(rawValue: rawType) else {
            throw ProtocolViolation.protocolError("unknown frame type 0x\(String(rawType, radix: 16))")
        }
        if type.isConnectionLevel != (streamID == 0) {
            throw ProtocolViolation.protocolError(
                type.isConnectionLevel
                    ? "\(type) frame on stream \(streamID); it belongs to stream 0"
                    : "\(type) frame on stream 0; it needs a stream id")
        }
        if type == .ping, length != WireProtocol.pingPayloadSize {
            throw ProtocolViolation.protocolError("PING payload of \(length) bytes; it must be 8")
        }

        guard buffer.readableBytes >= Frame.headerSize + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: Frame.headerSize)
        let payload = buffer.readSlice(length: Int(length))!
        return Frame(type: type, flags: FrameFlags(rawValue: rawFlags), streamID: streamID, payload: payload)
    }

    /// At end of input, leftover bytes mean the peer stopped in the middle of a frame.
    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Frame? {
        if let frame = try self.decode(buffer: &buffer) { return frame }
        if buffer.readableBytes > 0 {
            throw ProtocolViolation.protocolError("connection ended inside a frame (\(buffer.readableBytes) bytes left)")
        }
        return nil
    }
}

import NIOCore
import SwiftProtobuf

/// Writes frames into byte buffers.
package enum FrameEncoder {
    /// Appends `frame` to `buffer` in wire format.
    package static func encode(_ frame: Frame, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: Frame.headerSize + frame.payload.readableBytes)
        buffer.writeInteger(UInt32(frame.payload.readableBytes))
        buffer.writeInteger(frame.type.rawValue)
        buffer.writeInteger(frame.flags.rawValue)
        buffer.writeInteger(frame.streamID)
        var payload = frame.payload
        buffer.writeBuffer(&payload)
    }

    /// Appends a frame whose payload is a serialized protobuf message, without an intermediate copy.
    package static func encode(
        type: FrameType,
        flags: FrameFlags = [],
        streamID: UInt32,
        prefix: [UInt8] = [],
        message: some SwiftProtobuf.Message,
        into buffer: inout ByteBuffer
    ) {
        let bytes: [UInt8] = (try? message.serializedBytes()) ?? []
        buffer.writeInteger(UInt32(prefix.count + bytes.count))
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(flags.rawValue)
        buffer.writeInteger(streamID)
        buffer.writeBytes(prefix)
        buffer.writeBytes(bytes)
    }

    /// Appends a frame with a raw payload.
    package static func encode(
        type: FrameType,
        flags: FrameFlags = [],
        streamID: UInt32,
        payload: some Collection<UInt8>,
        into buffer: inout ByteBuffer
    ) {
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(flags.rawValue)
        buffer.writeInteger(streamID)
        buffer.writeBytes(payload)
    }
}

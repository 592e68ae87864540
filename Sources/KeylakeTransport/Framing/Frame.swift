import NIOCore

/// One frame of the Keylake wire protocol: a 10-byte header and a payload.
///
/// The layout is specified in `docs/protocol.md`: payload length (UInt32), type (UInt8),
/// flags (UInt8), stream id (UInt32), all big-endian, then `length` bytes of payload.
package struct Frame: Hashable, Sendable {
    /// Size of the fixed frame header in bytes.
    package static let headerSize = 10

    package var type: FrameType
    package var flags: FrameFlags
    package var streamID: UInt32
    package var payload: ByteBuffer

    package init(type: FrameType, flags: FrameFlags = [], streamID: UInt32, payload: ByteBuffer = ByteBuffer()) {
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.payload = payload
    }
}

/// The frame types of protocol version 1.
package enum FrameType: UInt8, Hashable, Sendable, CaseIterable {
    case hello = 0x01
    case headers = 0x02
    case message = 0x03
    case status = 0x04
    case cancel = 0x05
    case ping = 0x06
    case goAway = 0x07

    /// Whether frames of this type belong to the connection (stream id 0) rather than a stream.
    package var isConnectionLevel: Bool {
        switch self {
        case .hello, .ping, .goAway: true
        case .headers, .message, .status, .cancel: false
        }
    }
}

/// Frame flags. The meaning of a bit depends on the frame type.
package struct FrameFlags: OptionSet, Hashable, Sendable {
    package var rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    /// On HEADERS and MESSAGE: the sender sends nothing more on this stream.
    package static let endStream = FrameFlags(rawValue: 0x01)
    /// On PING: this PING answers one received.
    package static let ack = FrameFlags(rawValue: 0x01)
}

/// Constants of protocol version 1.
package enum WireProtocol {
    /// The only protocol version this implementation speaks.
    package static let version: UInt32 = 1
    /// The ALPN protocol identifier negotiated during the TLS handshake.
    package static let alpn = "keylake/1"
    /// The 8 bytes that start every HELLO payload: "KEYLAKE\0".
    package static let helloMagic: [UInt8] = Array("KEYLAKE".utf8) + [0]
    /// Size of a PING payload.
    package static let pingPayloadSize = 8
}

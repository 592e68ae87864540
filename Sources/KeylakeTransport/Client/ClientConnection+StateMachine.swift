import GRPCCore
import NIOCore
import SwiftProtobuf

/// The protocol state of one client-side connection, free of I/O.
///
/// It assigns stream ids (strictly increasing, in the order HEADERS frames are sent), maps frames
/// from the server to the call they belong to, and decides what GOAWAY and protocol errors mean
/// for each open call.
package struct ClientConnectionStateMachine {
    /// What the handler must do after a frame from the server.
    package enum Action: Equatable {
        case none
        /// The server's HELLO arrived: the connection is ready for calls.
        case ready(Keylake_Transport_V1_Settings)
        /// A response part for a call.
        case deliver(UInt32, Part)
        /// Answer the server's PING.
        case pong(ByteBuffer)
        /// Our keepalive PING was answered.
        case keepaliveAnswered
        /// The server is going away: these calls were not processed and fail as retryable; the
        /// connection takes no new calls and closes when the rest finish (`closeNow` if none left).
        case goAway(refused: [UInt32], code: Keylake_Transport_V1_GoAwayCode, reason: String, closeNow: Bool)
        /// The server broke the protocol: fail every open call and close.
        case closeConnection(ProtocolViolation)
    }

    /// A response part, before it is handed to GRPCCore.
    package enum Part: Equatable {
        case headers(Keylake_Transport_V1_ResponseHeaders)
        case message(ByteBuffer)
        case status(Keylake_Transport_V1_Status)
    }

    private enum State {
        case awaitingHello
        case ready
        case draining
        case closed
    }

    private var state: State = .awaitingHello
    private var open: Set<UInt32> = []
    private var nextStreamID: UInt32 = 1

    package init() {}

    /// Whether new calls may start on this connection.
    package var acceptsNewStreams: Bool {
        if case .ready = self.state { return true }
        return false
    }

    /// Number of calls open.
    package var openStreamCount: Int { self.open.count }

    /// Reserves the next stream id for a call about to send its HEADERS; nil when the connection
    /// takes no new calls (draining, closed, or ids exhausted).
    package mutating func openStream() -> UInt32? {
        guard case .ready = self.state, self.nextStreamID < UInt32.max else { return nil }
        let id = self.nextStreamID
        self.nextStreamID += 1
        self.open.insert(id)
        return id
    }

    /// The call ended on our side (status received, or cancelled). Returns true when the
    /// connection is draining and now empty, so it should close.
    package mutating func streamClosed(_ id: UInt32) -> Bool {
        self.open.remove(id)
        if case .draining = self.state, self.open.isEmpty {
            self.state = .closed
            return true
        }
        return false
    }

    /// Processes one frame from the server.
    package mutating func receive(_ frame: Frame) -> Action {
        switch self.state {
        case .closed:
            return .none
        case .awaitingHello:
            return self.receiveHello(frame)
        case .ready, .draining:
            break
        }
        switch frame.type {
        case .hello:
            return self.violation("second HELLO from the server")
        case .headers:
            guard self.open.contains(frame.streamID) else { return self.unknownStream(frame) }
            guard let headers = try? Keylake_Transport_V1_ResponseHeaders(serializedBytes: Array(frame.payload.readableBytesView))
            else { return self.violation("HEADERS payload is not a valid ResponseHeaders message") }
            guard headers.metadata.allSatisfy(\.isWellFormed) else {
                return self.violation("HEADERS has a binary metadata value under a key that does not end in -bin")
            }
            return .deliver(frame.streamID, .headers(headers))
        case .message:
            guard self.open.contains(frame.streamID) else { return self.unknownStream(frame) }
            return .deliver(frame.streamID, .message(frame.payload))
        case .status:
            guard self.open.contains(frame.streamID) else { return self.unknownStream(frame) }
            guard let status = try? Keylake_Transport_V1_Status(serializedBytes: Array(frame.payload.readableBytesView))
            else { return self.violation("STATUS payload is not a valid Status message") }
            guard status.trailers.allSatisfy(\.isWellFormed) else {
                return self.violation("STATUS has a binary trailer value under a key that does not end in -bin")
            }
            return .deliver(frame.streamID, .status(status))
        case .cancel:
            return self.violation("CANCEL frame from a server")
        case .ping:
            return frame.flags.contains(.ack) ? .keepaliveAnswered : .pong(frame.payload)
        case .goAway:
            guard let goAway = try? Keylake_Transport_V1_GoAway(serializedBytes: Array(frame.payload.readableBytesView))
            else { return self.violation("GOAWAY payload is not a valid GoAway message") }
            let refused = self.open.filter { $0 > goAway.lastStreamID }.sorted()
            self.open.subtract(refused)
            self.state = self.open.isEmpty ? .closed : .draining
            return .goAway(refused: refused, code: goAway.code, reason: goAway.reason, closeNow: self.open.isEmpty)
        }
    }

    /// Marks the connection closed; returns the calls still open so they can fail.
    package mutating func close() -> [UInt32] {
        self.state = .closed
        defer { self.open.removeAll() }
        return self.open.sorted()
    }

    private mutating func receiveHello(_ frame: Frame) -> Action {
        guard frame.type == .hello else {
            if frame.type == .goAway,
                let goAway = try? Keylake_Transport_V1_GoAway(serializedBytes: Array(frame.payload.readableBytesView))
            {
                self.state = .closed
                return .goAway(refused: [], code: goAway.code, reason: goAway.reason, closeNow: true)
            }
            return self.violation("expected HELLO from the server, got \(frame.type)")
        }
        var payload = frame.payload
        guard payload.readBytes(length: WireProtocol.helloMagic.count) == WireProtocol.helloMagic else {
            return self.violation("server HELLO lacks the magic bytes")
        }
        guard let hello = try? Keylake_Transport_V1_Hello(serializedBytes: Array(payload.readableBytesView)) else {
            return self.violation("server HELLO payload is not a valid Hello message")
        }
        guard hello.version == WireProtocol.version else {
            self.state = .closed
            return .closeConnection(
                ProtocolViolation(.versionMismatch, "server speaks protocol version \(hello.version), not \(WireProtocol.version)"))
        }
        self.state = .ready
        return .ready(hello.settings)
    }

    /// Frames for calls we already finished or cancelled are dropped; ids we never used are an error.
    private mutating func unknownStream(_ frame: Frame) -> Action {
        if frame.streamID < self.nextStreamID { return .none }
        return self.violation("\(frame.type) frame for stream \(frame.streamID), which this client never opened")
    }

    private mutating func violation(_ reason: String) -> Action {
        self.state = .closed
        return .closeConnection(.protocolError(reason))
    }
}

import GRPCCore
import NIOCore
import SwiftProtobuf

/// The protocol state of one server-side connection, free of I/O.
///
/// The channel handler feeds it frames and timer events and carries out the ``Action`` it
/// returns. Everything the protocol demands of a server (HELLO first, increasing stream ids,
/// stream limits, ping limits, draining on GOAWAY) is decided here, so it is tested without
/// sockets.
package struct ServerConnectionStateMachine {
    /// What the handler must do after an event.
    package enum Action: Equatable {
        /// Nothing to do.
        case none
        /// The client's HELLO was accepted: answer with the server's HELLO. Carries the client's
        /// self-declared agent string, for logs and audit, and the largest frame it accepts
        /// (0: not declared).
        case sendHello(agent: String, clientMaxFrameSize: UInt32)
        /// A new call: start its handler.
        case openStream(UInt32, Keylake_Transport_V1_RequestHeaders)
        /// Refuse a new call by ending its stream with this status at once.
        case refuseStream(UInt32, GRPCCore.Status.Code, String)
        /// Hand a message to the call's handler; `endStream` when it is the last.
        case deliverMessage(UInt32, ByteBuffer, endStream: Bool)
        /// The client half-closed the call.
        case finishInbound(UInt32)
        /// The client cancelled the call, or the call broke a limit: cancel its handler and
        /// end the stream with the status, if one is given.
        case cancelStream(UInt32, GRPCCore.Status.Code?, String)
        /// Answer a PING with these 8 bytes.
        case pong(ByteBuffer)
        /// The peer broke the protocol: send GOAWAY with the violation, then close.
        case closeConnection(ProtocolViolation)
        /// The client said GOAWAY: close once the open streams are done (or now, if none are).
        case closeWhenIdle
    }

    private enum State {
        case awaitingHello
        case active
        /// GOAWAY sent; streams above `lastStreamID` are refused.
        case draining(lastStreamID: UInt32)
        case closed
    }

    /// Per-stream bookkeeping.
    private struct StreamState {
        var inboundClosed = false
        var inboundBytes = 0
    }

    private var state: State = .awaitingHello
    private var streams: [UInt32: StreamState] = [:]
    private var highestStreamID: UInt32 = 0
    private var pingWindowStart: NIODeadline?
    private var pingsInWindow = 0
    package let limits: ServerLimits

    package init(limits: ServerLimits) {
        self.limits = limits
    }

    /// Number of calls open on this connection.
    package var openStreamCount: Int { self.streams.count }

    /// Whether the connection has been told to drain.
    package var isDraining: Bool {
        if case .draining = self.state { return true }
        return false
    }

    /// Whether the connection has seen the client's HELLO.
    package var isEstablished: Bool {
        switch self.state {
        case .awaitingHello, .closed: false
        case .active, .draining: true
        }
    }

    /// Highest stream id opened so far (the GOAWAY `last_stream_id`).
    package var lastStreamID: UInt32 { self.highestStreamID }

    /// Processes one frame from the client.
    package mutating func receive(_ frame: Frame, now: NIODeadline) -> Action {
        switch self.state {
        case .closed:
            return .none
        case .awaitingHello:
            return self.receiveHello(frame)
        case .active, .draining:
            break
        }

        switch frame.type {
        case .hello:
            return self.violation("second HELLO on an established connection")
        case .headers:
            return self.receiveHeaders(frame)
        case .message:
            return self.receiveMessage(frame)
        case .cancel:
            guard self.streams.removeValue(forKey: frame.streamID) != nil else {
                return self.ignoringClosedStream(frame)
            }
            return .cancelStream(frame.streamID, nil, "cancelled by the client")
        case .status:
            return self.violation("STATUS frame from a client")
        case .ping:
            if frame.flags.contains(.ack) { return .none }
            return self.receivePing(frame, now: now)
        case .goAway:
            // The client will open no more calls; finish the open ones, then close.
            self.state = self.streams.isEmpty ? .closed : .draining(lastStreamID: self.highestStreamID)
            return .closeWhenIdle
        }
    }

    /// The HELLO timer fired. Returns the violation to report, or nil if HELLO arrived in time.
    package mutating func helloTimerFired() -> ProtocolViolation? {
        guard case .awaitingHello = self.state else { return nil }
        self.state = .closed
        return ProtocolViolation(.helloTimeout, "no HELLO within the HELLO timeout")
    }

    /// The server finished a call (sent its STATUS). Returns true when the connection should now
    /// be closed because it is draining and this was the last call.
    package mutating func streamClosed(_ streamID: UInt32) -> Bool {
        self.streams.removeValue(forKey: streamID)
        return self.closeIfDrained()
    }

    /// Starts a graceful shutdown. Returns the `last_stream_id` to announce in GOAWAY and whether the
    /// connection can close right away; nil when already draining or closed.
    package mutating func beginGracefulShutdown() -> (lastStreamID: UInt32, closeNow: Bool)? {
        switch self.state {
        case .closed, .draining:
            return nil
        case .awaitingHello:
            self.state = .closed
            return (0, true)
        case .active:
            self.state = .draining(lastStreamID: self.highestStreamID)
            return (self.highestStreamID, self.closeIfDrained())
        }
    }

    /// Marks the connection closed; returns the ids of calls still open, to cancel them.
    package mutating func close() -> [UInt32] {
        self.state = .closed
        let open = Array(self.streams.keys)
        self.streams.removeAll()
        return open
    }

    // MARK: - Frames

    private mutating func receiveHello(_ frame: Frame) -> Action {
        guard frame.type == .hello else {
            return self.violation("expected HELLO as the first frame, got \(frame.type)")
        }
        var payload = frame.payload
        guard let magic = payload.readBytes(length: WireProtocol.helloMagic.count),
            magic == WireProtocol.helloMagic
        else {
            return self.violation("HELLO does not start with the magic bytes \"KEYLAKE\\0\"")
        }
        let hello: Keylake_Transport_V1_Hello
        do {
            hello = try Keylake_Transport_V1_Hello(serializedBytes: Array(payload.readableBytesView))
        } catch {
            return self.violation("HELLO payload is not a valid Hello message")
        }
        guard hello.version == WireProtocol.version else {
            self.state = .closed
            return .closeConnection(
                ProtocolViolation(
                    .versionMismatch,
                    "client speaks protocol version \(hello.version); this server speaks version \(WireProtocol.version)"))
        }
        self.state = .active
        return .sendHello(agent: String(hello.agent.prefix(128)), clientMaxFrameSize: hello.settings.maxFrameSize)
    }

    private mutating func receiveHeaders(_ frame: Frame) -> Action {
        let id = frame.streamID
        if self.streams[id] != nil {
            // Client half-close after its messages: an empty HEADERS with END_STREAM.
            guard frame.flags.contains(.endStream), frame.payload.readableBytes == 0 else {
                return self.violation("HEADERS on open stream \(id) that is not an empty half-close")
            }
            return self.closeInbound(id)
        }
        guard id > self.highestStreamID else {
            // Either a late half-close for a call the server already finished, or a reused id.
            if frame.payload.readableBytes == 0, frame.flags.contains(.endStream) { return .none }
            return self.violation("stream id \(id) is not above the highest used id \(self.highestStreamID)")
        }
        self.highestStreamID = id

        if case .draining(let last) = self.state, id > last {
            return .refuseStream(id, .unavailable, "server is shutting down; retry on a new connection")
        }
        guard frame.payload.readableBytes <= self.limits.maxHeaderBytes else {
            return .refuseStream(
                id, .resourceExhausted,
                "request headers of \(frame.payload.readableBytes) bytes exceed the limit of \(self.limits.maxHeaderBytes)")
        }
        let headers: Keylake_Transport_V1_RequestHeaders
        do {
            headers = try Keylake_Transport_V1_RequestHeaders(serializedBytes: Array(frame.payload.readableBytesView))
        } catch {
            return self.violation("HEADERS payload on stream \(id) is not a valid RequestHeaders message")
        }
        guard !headers.method.isEmpty else {
            return self.violation("HEADERS on stream \(id) names no method")
        }
        guard headers.metadata.allSatisfy(\.isWellFormed) else {
            return self.violation("HEADERS on stream \(id) has a binary metadata value under a key that does not end in -bin")
        }
        guard self.streams.count < self.limits.maxConcurrentStreams else {
            return .refuseStream(
                id, .resourceExhausted,
                "too many concurrent calls on this connection (limit \(self.limits.maxConcurrentStreams))")
        }
        var stream = StreamState()
        stream.inboundClosed = frame.flags.contains(.endStream)
        self.streams[id] = stream
        return .openStream(id, headers)
    }

    private mutating func receiveMessage(_ frame: Frame) -> Action {
        let id = frame.streamID
        guard var stream = self.streams[id] else { return self.ignoringClosedStream(frame) }
        guard !stream.inboundClosed else {
            return self.violation("MESSAGE on stream \(id) after the client half-closed it")
        }
        stream.inboundBytes += frame.payload.readableBytes
        guard stream.inboundBytes <= self.limits.maxInboundBytesPerStream else {
            self.streams.removeValue(forKey: id)
            return .cancelStream(
                id, .resourceExhausted,
                "call sent more than \(self.limits.maxInboundBytesPerStream) bytes of messages")
        }
        let end = frame.flags.contains(.endStream)
        stream.inboundClosed = end
        self.streams[id] = stream
        return .deliverMessage(id, frame.payload, endStream: end)
    }

    private mutating func receivePing(_ frame: Frame, now: NIODeadline) -> Action {
        if let start = self.pingWindowStart, now - start < .minutes(1) {
            self.pingsInWindow += 1
        } else {
            self.pingWindowStart = now
            self.pingsInWindow = 1
        }
        guard self.pingsInWindow <= self.limits.maxPingsPerMinute else {
            self.state = .closed
            return .closeConnection(
                ProtocolViolation(.enhanceYourCalm, "more than \(self.limits.maxPingsPerMinute) PINGs in a minute"))
        }
        return .pong(frame.payload)
    }

    private mutating func closeInbound(_ id: UInt32) -> Action {
        guard var stream = self.streams[id], !stream.inboundClosed else {
            return self.violation("second half-close on stream \(id)")
        }
        stream.inboundClosed = true
        self.streams[id] = stream
        return .finishInbound(id)
    }

    /// Frames for calls the server has already finished are dropped; frames for ids never opened
    /// break the protocol.
    private mutating func ignoringClosedStream(_ frame: Frame) -> Action {
        if frame.streamID <= self.highestStreamID { return .none }
        return self.violation("\(frame.type) frame for stream \(frame.streamID), which was never opened")
    }

    private mutating func violation(_ reason: String) -> Action {
        self.state = .closed
        return .closeConnection(.protocolError(reason))
    }

    private mutating func closeIfDrained() -> Bool {
        if case .draining = self.state, self.streams.isEmpty {
            self.state = .closed
            return true
        }
        if case .closed = self.state, self.streams.isEmpty { return true }
        return false
    }
}

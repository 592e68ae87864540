import GRPCCore
import NIOCore
import SwiftProtobuf
import Testing

@testable import KeylakeTransport

@Suite("Server connection state machine")
struct ServerStateMachineTests {
    static func hello(version: UInt32 = 1, magic: [UInt8] = WireProtocol.helloMagic) -> Frame {
        var hello = Keylake_Transport_V1_Hello()
        hello.version = version
        var payload = ByteBuffer(bytes: magic)
        payload.writeBytes(try! hello.serializedBytes() as [UInt8])
        return Frame(type: .hello, streamID: 0, payload: payload)
    }

    static func headers(_ id: UInt32, method: String = "/svc.S/M", flags: FrameFlags = [], padding: Int = 0) -> Frame {
        var headers = Keylake_Transport_V1_RequestHeaders()
        headers.method = method
        if padding > 0 { headers.requestID = String(repeating: "x", count: padding) }
        return Frame(type: .headers, flags: flags, streamID: id, payload: ByteBuffer(bytes: try! headers.serializedBytes() as [UInt8]))
    }

    static func established(_ limits: ServerLimits = ServerLimits()) -> ServerConnectionStateMachine {
        var machine = ServerConnectionStateMachine(limits: limits)
        #expect(machine.receive(hello(), now: .now()) == .sendHello(agent: "", clientMaxFrameSize: 0))
        return machine
    }

    func isViolation(_ action: ServerConnectionStateMachine.Action, _ code: Keylake_Transport_V1_GoAwayCode = .protocolError) -> Bool {
        if case .closeConnection(let violation) = action { return violation.code == code }
        return false
    }

    @Test("HELLO must come first")
    func helloFirst() {
        var machine = ServerConnectionStateMachine(limits: ServerLimits())
        #expect(isViolation(machine.receive(Self.headers(1), now: .now())))
        // Once closed, nothing more happens.
        #expect(machine.receive(Self.hello(), now: .now()) == .none)
    }

    @Test("bad magic is a protocol error")
    func badMagic() {
        var machine = ServerConnectionStateMachine(limits: ServerLimits())
        #expect(isViolation(machine.receive(Self.hello(magic: Array("KEYLAKX\0".utf8)), now: .now())))
        var short = ServerConnectionStateMachine(limits: ServerLimits())
        #expect(isViolation(short.receive(Frame(type: .hello, streamID: 0, payload: ByteBuffer(bytes: [0x4B])), now: .now())))
    }

    @Test("a garbage Hello body is a protocol error")
    func garbageHello() {
        var machine = ServerConnectionStateMachine(limits: ServerLimits())
        var payload = ByteBuffer(bytes: WireProtocol.helloMagic)
        payload.writeBytes([0xFF, 0xFF, 0xFF])
        #expect(isViolation(machine.receive(Frame(type: .hello, streamID: 0, payload: payload), now: .now())))
    }

    @Test("a version mismatch ends the connection with VERSION_MISMATCH")
    func versionMismatch() {
        var machine = ServerConnectionStateMachine(limits: ServerLimits())
        #expect(isViolation(machine.receive(Self.hello(version: 2), now: .now()), .versionMismatch))
    }

    @Test("HELLO timer fires only while waiting for HELLO")
    func helloTimer() {
        var waiting = ServerConnectionStateMachine(limits: ServerLimits())
        #expect(waiting.helloTimerFired()?.code == .helloTimeout)
        var machine = Self.established()
        #expect(machine.helloTimerFired() == nil)
    }

    @Test("streams open with increasing ids; a reused or lower id is a protocol error")
    func streamIDs() {
        var machine = Self.established()
        guard case .openStream(1, _) = machine.receive(Self.headers(1), now: .now()) else {
            Issue.record("stream 1 not opened")
            return
        }
        guard case .openStream(5, _) = machine.receive(Self.headers(5), now: .now()) else {
            Issue.record("stream 5 not opened")
            return
        }
        #expect(machine.openStreamCount == 2)
        #expect(isViolation(machine.receive(Self.headers(3), now: .now())))
    }

    @Test("a second HELLO is a protocol error")
    func secondHello() {
        var machine = Self.established()
        #expect(isViolation(machine.receive(Self.hello(), now: .now())))
    }

    @Test("more than maxConcurrentStreams open calls are refused with RESOURCE_EXHAUSTED")
    func concurrentStreamLimit() {
        var limits = ServerLimits()
        limits.maxConcurrentStreams = 2
        var machine = Self.established(limits)
        _ = machine.receive(Self.headers(1), now: .now())
        _ = machine.receive(Self.headers(2), now: .now())
        guard case .refuseStream(3, .resourceExhausted, _) = machine.receive(Self.headers(3), now: .now()) else {
            Issue.record("third stream not refused")
            return
        }
        // A finished call frees its slot.
        #expect(machine.streamClosed(1) == false)
        guard case .openStream(4, _) = machine.receive(Self.headers(4), now: .now()) else {
            Issue.record("stream 4 not opened after one closed")
            return
        }
    }

    @Test("oversized request headers are refused with RESOURCE_EXHAUSTED, connection kept")
    func headerBytesLimit() {
        var limits = ServerLimits()
        limits.maxHeaderBytes = 100
        var machine = Self.established(limits)
        guard case .refuseStream(1, .resourceExhausted, _) = machine.receive(Self.headers(1, padding: 200), now: .now()) else {
            Issue.record("big headers not refused")
            return
        }
        guard case .openStream(2, _) = machine.receive(Self.headers(2), now: .now()) else {
            Issue.record("connection did not survive")
            return
        }
    }

    @Test("garbage HEADERS payloads and empty methods are protocol errors")
    func badHeaders() {
        var machine = Self.established()
        #expect(isViolation(machine.receive(Frame(type: .headers, streamID: 1, payload: ByteBuffer(bytes: [0xFF, 0xFF])), now: .now())))
        var empty = Self.established()
        #expect(isViolation(empty.receive(Self.headers(1, method: ""), now: .now())))
    }

    @Test("messages are delivered; END_STREAM half-closes; a message after half-close is an error")
    func messagesAndHalfClose() {
        var machine = Self.established()
        _ = machine.receive(Self.headers(1), now: .now())
        let payload = ByteBuffer(bytes: [1, 2, 3])
        #expect(machine.receive(Frame(type: .message, streamID: 1, payload: payload), now: .now())
            == .deliverMessage(1, payload, endStream: false))
        #expect(machine.receive(Frame(type: .headers, flags: .endStream, streamID: 1), now: .now()) == .finishInbound(1))
        #expect(isViolation(machine.receive(Frame(type: .message, streamID: 1, payload: payload), now: .now())))
    }

    @Test("a call sending more than maxInboundBytesPerStream is cancelled with RESOURCE_EXHAUSTED")
    func inboundBytesLimit() {
        var limits = ServerLimits()
        limits.maxInboundBytesPerStream = 10
        var machine = Self.established(limits)
        _ = machine.receive(Self.headers(1), now: .now())
        _ = machine.receive(Frame(type: .message, streamID: 1, payload: ByteBuffer(repeating: 0, count: 8)), now: .now())
        guard case .cancelStream(1, .resourceExhausted, _) =
            machine.receive(Frame(type: .message, streamID: 1, payload: ByteBuffer(repeating: 0, count: 8)), now: .now())
        else {
            Issue.record("limit not enforced")
            return
        }
        #expect(machine.openStreamCount == 0)
    }

    @Test("CANCEL cancels an open call; frames for finished calls are ignored; never-opened ids are errors")
    func cancelAndClosedStreams() {
        var machine = Self.established()
        _ = machine.receive(Self.headers(1), now: .now())
        guard case .cancelStream(1, nil, _) = machine.receive(Frame(type: .cancel, streamID: 1), now: .now()) else {
            Issue.record("cancel not honoured")
            return
        }
        #expect(machine.receive(Frame(type: .cancel, streamID: 1), now: .now()) == .none)
        #expect(machine.receive(Frame(type: .message, streamID: 1, payload: ByteBuffer()), now: .now()) == .none)
        #expect(isViolation(machine.receive(Frame(type: .message, streamID: 9, payload: ByteBuffer()), now: .now())))
    }

    @Test("STATUS from a client is a protocol error")
    func statusFromClient() {
        var machine = Self.established()
        _ = machine.receive(Self.headers(1), now: .now())
        #expect(isViolation(machine.receive(Frame(type: .status, streamID: 1), now: .now())))
    }

    @Test("PINGs are answered; a PING flood ends the connection with ENHANCE_YOUR_CALM")
    func pings() {
        var limits = ServerLimits()
        limits.maxPingsPerMinute = 3
        var machine = Self.established(limits)
        let ping = Frame(type: .ping, streamID: 0, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8]))
        let now = NIODeadline.now()
        for _ in 0..<3 { #expect(machine.receive(ping, now: now) == .pong(ping.payload)) }
        #expect(isViolation(machine.receive(ping, now: now), .enhanceYourCalm))
        // A new minute resets the window.
        var later = Self.established(limits)
        for _ in 0..<3 { _ = later.receive(ping, now: now) }
        #expect(later.receive(ping, now: now + .seconds(61)) == .pong(ping.payload))
    }

    @Test("graceful shutdown refuses new calls with UNAVAILABLE and closes when the last call ends")
    func gracefulShutdown() {
        var machine = Self.established()
        _ = machine.receive(Self.headers(1), now: .now())
        let result = machine.beginGracefulShutdown()
        #expect(result?.lastStreamID == 1)
        #expect(result?.closeNow == false)
        guard case .refuseStream(3, .unavailable, _) = machine.receive(Self.headers(3), now: .now()) else {
            Issue.record("new call not refused while draining")
            return
        }
        #expect(machine.streamClosed(1) == true)
        #expect(machine.beginGracefulShutdown() == nil)
    }

    @Test("graceful shutdown of an idle connection closes at once")
    func gracefulShutdownIdle() {
        var machine = Self.established()
        #expect(machine.beginGracefulShutdown()?.closeNow == true)
    }

    @Test("client GOAWAY drains: open calls finish, new calls are refused")
    func clientGoAway() {
        var machine = Self.established()
        _ = machine.receive(Self.headers(1), now: .now())
        #expect(machine.receive(Frame(type: .goAway, streamID: 0), now: .now()) == .closeWhenIdle)
        guard case .refuseStream(2, .unavailable, _) = machine.receive(Self.headers(2), now: .now()) else {
            Issue.record("call after client GOAWAY not refused")
            return
        }
        #expect(machine.streamClosed(1) == true)
    }
}

@Suite("Client connection state machine")
struct ClientStateMachineTests {
    static func ready() -> ClientConnectionStateMachine {
        var machine = ClientConnectionStateMachine()
        guard case .ready = machine.receive(ServerStateMachineTests.hello()) else {
            Issue.record("not ready after HELLO")
            return machine
        }
        return machine
    }

    @Test("no calls before the server's HELLO; ids increase after it")
    func ids() {
        var machine = ClientConnectionStateMachine()
        #expect(machine.openStream() == nil)
        machine = Self.ready()
        #expect(machine.openStream() == 1)
        #expect(machine.openStream() == 2)
        #expect(machine.openStream() == 3)
    }

    @Test("a server speaking another version is refused")
    func versionMismatch() {
        var machine = ClientConnectionStateMachine()
        guard case .closeConnection(let violation) = machine.receive(ServerStateMachineTests.hello(version: 7)) else {
            Issue.record("mismatch accepted")
            return
        }
        #expect(violation.code == .versionMismatch)
    }

    @Test("GOAWAY fails calls above last_stream_id as retryable and drains the rest")
    func goAway() throws {
        var machine = Self.ready()
        _ = machine.openStream()
        _ = machine.openStream()
        _ = machine.openStream()
        var goAway = Keylake_Transport_V1_GoAway()
        goAway.lastStreamID = 1
        let frame = Frame(type: .goAway, streamID: 0, payload: ByteBuffer(bytes: try goAway.serializedBytes() as [UInt8]))
        guard case .goAway(let refused, _, _, let closeNow) = machine.receive(frame) else {
            Issue.record("GOAWAY not handled")
            return
        }
        #expect(refused == [2, 3])
        #expect(closeNow == false)
        #expect(machine.acceptsNewStreams == false)
        #expect(machine.streamClosed(1) == true)
    }

    @Test("frames for finished calls are dropped; frames for ids never used are errors")
    func unknownStreams() {
        var machine = Self.ready()
        _ = machine.openStream()
        _ = machine.streamClosed(1)
        #expect(machine.receive(Frame(type: .message, streamID: 1, payload: ByteBuffer())) == .none)
        guard case .closeConnection = machine.receive(Frame(type: .message, streamID: 5, payload: ByteBuffer())) else {
            Issue.record("frame for unused id accepted")
            return
        }
    }

    @Test("CANCEL from a server and garbage STATUS are protocol errors")
    func serverViolations() {
        var machine = Self.ready()
        _ = machine.openStream()
        guard case .closeConnection = machine.receive(Frame(type: .status, streamID: 1, payload: ByteBuffer(bytes: [0xFF]))) else {
            Issue.record("garbage STATUS accepted")
            return
        }
        var other = Self.ready()
        _ = other.openStream()
        guard case .closeConnection = other.receive(Frame(type: .cancel, streamID: 1)) else {
            Issue.record("CANCEL from server accepted")
            return
        }
    }
}

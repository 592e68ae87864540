import GRPCCore
import Logging
import NIOCore
import SwiftProtobuf

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The client side of one connection: a thin shell around ``ClientConnectionStateMachine``.
///
/// Calls are registered under a local id when they start; they get a wire stream id only when
/// their HEADERS frame is written, so ids on the wire always increase even when calls start
/// concurrently.
final class ClientConnectionHandler: ChannelInboundHandler, CoalescingFrameWriter {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer
    typealias Continuation = PartBuffer<RPCResponsePart<TransportBytes>>

    private final class Call {
        let continuation: Continuation
        var streamID: UInt32?
        var finished = false
        /// Fires at a transport deadline (``TransportDeadline``), if the call has one.
        var deadlineTimer: Scheduled<Void>?
        init(continuation: Continuation) { self.continuation = continuation }
        deinit { self.deadlineTimer?.cancel() }
    }

    private var machine = ClientConnectionStateMachine()
    private var calls: [Int: Call] = [:]
    private var localIDByStream: [UInt32: Int] = [:]
    private let settings: ClientSettings
    private let ready: EventLoopPromise<Void>
    private let unusable: EventLoopPromise<Void>
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var keepaliveTimer: RepeatedTask?
    private var keepaliveDeadline: Scheduled<Void>?
    private var lastRead = NIODeadline.now()
    /// The largest frame the server accepts, from its HELLO; a larger request message fails
    /// locally instead of breaking the protocol (which would close the connection for every call).
    private var serverMaxFrameSize: Int?
    var flushScheduled = false

    /// - Parameters:
    ///   - ready: succeeds when the server's HELLO arrives; fails if the connection ends first.
    ///   - unusable: succeeds when the connection stops taking new calls (GOAWAY or close).
    init(settings: ClientSettings, ready: EventLoopPromise<Void>, unusable: EventLoopPromise<Void>, logger: Logger) {
        self.settings = settings
        self.ready = ready
        self.unusable = unusable
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { self.sendHello() }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.sendHello()
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.ready.fail(RPCError(code: .unavailable, message: "connection closed"))
        self.unusable.succeed(())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.lastRead = .now()
        let frame = self.unwrapInboundIn(data)
        switch self.machine.receive(frame) {
        case .none:
            break
        case .ready(let serverSettings):
            if serverSettings.maxFrameSize > 0 { self.serverMaxFrameSize = Int(serverSettings.maxFrameSize) }
            self.ready.succeed(())
            self.startKeepalive()
        case .deliver(let id, let part):
            self.deliver(part, to: id)
        case .pong(let payload):
            self.write { buffer in
                FrameEncoder.encode(type: .ping, flags: .ack, streamID: 0, payload: payload.readableBytesView, into: &buffer)
            }
        case .keepaliveAnswered:
            self.keepaliveDeadline?.cancel()
            self.keepaliveDeadline = nil
        case .goAway(let refused, let code, let reason, let closeNow):
            self.logger.debug("server sent GOAWAY", metadata: ["code": "\(code)", "reason": "\(reason)"])
            self.unusable.succeed(())
            self.ready.fail(RPCError(code: .unavailable, message: "server refused the connection: \(reason)"))
            for id in refused {
                self.fail(streamID: id, RPCError(code: .unavailable, message: "server is going away: \(reason)"))
            }
            if closeNow { context.close(promise: nil) }
        case .closeConnection(let violation):
            self.logger.warning("closing connection: server broke the protocol", metadata: ["reason": "\(violation.reason)"])
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.keepaliveTimer?.cancel()
        self.keepaliveDeadline?.cancel()
        _ = self.machine.close()
        let lost = RPCError(code: .unavailable, message: "connection to the server was lost")
        for (_, call) in self.calls where !call.finished {
            call.continuation.finish(throwing: lost)
        }
        self.calls.removeAll()
        self.localIDByStream.removeAll()
        self.ready.fail(lost)
        self.unusable.succeed(())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("connection error", metadata: ["error": "\(error)"])
        self.ready.fail(RPCError(code: .unavailable, message: "connection failed: \(error)"))
        context.close(promise: nil)
    }

    // MARK: - Calls, driven by ClientStreamWriter on the event loop

    /// Registers a call; its response parts go to `continuation`.
    func register(localID: Int, continuation: Continuation) {
        guard self.context != nil, self.machine.acceptsNewStreams else {
            continuation.finish(throwing: RPCError(code: .unavailable, message: "connection is closing; retry"))
            return
        }
        self.calls[localID] = Call(continuation: continuation)
    }

    /// Sends the call's HEADERS, assigning its stream id.
    ///
    /// - Parameters:
    ///   - timeout: `CallOptions.timeout` (GRPCCore enforces it; it only travels on the wire).
    ///   - deadline: a ``TransportDeadline``, enforced here by a timer on this event loop.
    func sendHeaders(localID: Int, method: String, timeout: Duration?, deadline: ContinuousClock.Instant?, metadata: Metadata) {
        guard let call = self.calls[localID], call.streamID == nil else { return }
        var timeout = timeout
        if timeout == nil, let deadline {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else {
                self.finish(call, localID: localID, throwing: RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
                return
            }
            timeout = remaining
            if let context = self.context {
                let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                call.deadlineTimer = context.eventLoop.scheduleTask(in: TimeAmount(remaining)) {
                    loopBound.value.deadlinePassed(localID: localID)
                }
            }
        }
        guard let id = self.machine.openStream() else {
            self.finish(call, localID: localID, throwing: RPCError(code: .unavailable, message: "connection is closing; retry"))
            return
        }
        call.streamID = id
        self.localIDByStream[id] = localID

        var headers = Keylake_Transport_V1_RequestHeaders()
        headers.method = method
        if let timeout, timeout > .zero {
            let (seconds, attos) = timeout.components
            let (micros, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
            headers.timeoutMicros = overflow ? UInt64(Int64.max) : UInt64(clamping: micros + attos / 1_000_000_000_000)
        }
        headers.requestID = metadata.firstString(KeylakeMetadataKey.requestID) ?? RequestID.make()
        headers.traceparent = metadata.firstString(KeylakeMetadataKey.traceparent) ?? ""
        headers.tracestate = metadata.firstString(KeylakeMetadataKey.tracestate) ?? ""
        headers.onBehalfOf = metadata.firstString(KeylakeMetadataKey.onBehalfOf) ?? ""
        headers.metadata = metadata.wireEntries(excluding: Self.dedicatedKeys)
        self.write { buffer in
            FrameEncoder.encode(type: .headers, streamID: id, message: headers, into: &buffer)
        }
    }

    /// A transport deadline passed: the call fails with DEADLINE_EXCEEDED and the server is told
    /// to forget the stream (CANCEL), unless the call already ended.
    private func deadlinePassed(localID: Int) {
        guard let call = self.calls[localID], !call.finished else { return }
        self.finish(call, localID: localID, throwing: RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
        if let id = call.streamID, self.localIDByStream.removeValue(forKey: id) != nil {
            self.write { buffer in
                FrameEncoder.encode(type: .cancel, streamID: id, payload: EmptyCollection(), into: &buffer)
            }
            self.streamEnded(id)
        }
    }

    /// Sends one request message.
    func sendMessage(localID: Int, _ bytes: TransportBytes) {
        guard let call = self.calls[localID], let id = call.streamID, !call.finished else { return }
        if let limit = self.serverMaxFrameSize, bytes.buffer.readableBytes > limit {
            // The server would have to close the connection; fail this call alone and tell the
            // server to forget the stream.
            let size = bytes.buffer.readableBytes
            self.finish(
                call, localID: localID,
                throwing: RPCError(
                    code: .resourceExhausted, message: "request message of \(size) bytes exceeds the server's frame limit of \(limit) bytes"))
            self.localIDByStream.removeValue(forKey: id)
            self.write { buffer in
                FrameEncoder.encode(type: .cancel, streamID: id, payload: EmptyCollection(), into: &buffer)
            }
            self.streamEnded(id)
            return
        }
        self.write { buffer in
            FrameEncoder.encode(Frame(type: .message, streamID: id, payload: bytes.buffer), into: &buffer)
        }
    }

    /// Half-closes the call: no more request messages.
    func halfClose(localID: Int) {
        guard let call = self.calls[localID], let id = call.streamID, !call.finished else { return }
        self.write { buffer in
            FrameEncoder.encode(type: .headers, flags: .endStream, streamID: id, payload: EmptyCollection(), into: &buffer)
        }
    }

    /// The caller is done with the call: if it has not ended, cancel it on the server.
    func release(localID: Int) {
        guard let call = self.calls.removeValue(forKey: localID) else { return }
        guard !call.finished else { return }
        call.finished = true
        call.continuation.finish(throwing: RPCError(code: .cancelled, message: "call cancelled"))
        if let id = call.streamID {
            self.localIDByStream.removeValue(forKey: id)
            self.write { buffer in
                FrameEncoder.encode(type: .cancel, streamID: id, payload: EmptyCollection(), into: &buffer)
            }
            self.streamEnded(id)
        }
    }

    // MARK: - Inbound parts

    private func deliver(_ part: ClientConnectionStateMachine.Part, to id: UInt32) {
        guard let localID = self.localIDByStream[id], let call = self.calls[localID], !call.finished else { return }
        switch part {
        case .headers(let headers):
            call.continuation.yield(.metadata(Metadata(wireEntries: headers.metadata)))
        case .message(let payload):
            call.continuation.yield(.message(TransportBytes(payload)))
        case .status(let wire):
            let (status, trailers) = wire.grpcStatus
            call.continuation.yield(.status(status, trailers))
            call.finished = true
            call.continuation.finish()
            self.localIDByStream.removeValue(forKey: id)
            self.streamEnded(id)
        }
    }

    private func fail(streamID id: UInt32, _ error: RPCError) {
        guard let localID = self.localIDByStream.removeValue(forKey: id), let call = self.calls[localID] else { return }
        self.finish(call, localID: localID, throwing: error)
    }

    private func finish(_ call: Call, localID: Int, throwing error: RPCError) {
        guard !call.finished else { return }
        call.finished = true
        call.continuation.finish(throwing: error)
    }

    private func streamEnded(_ id: UInt32) {
        if self.machine.streamClosed(id) {
            self.flushIfNeeded()
            self.context?.close(promise: nil)
        }
    }

    // MARK: - Keepalive

    private func startKeepalive() {
        guard let context = self.context else { return }
        let interval = TimeAmount(self.settings.keepaliveInterval)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.keepaliveTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            loopBound.value.keepaliveTick()
        }
    }

    private func keepaliveTick() {
        guard let context = self.context, self.keepaliveDeadline == nil,
            NIODeadline.now() - self.lastRead >= TimeAmount(self.settings.keepaliveInterval)
        else { return }
        var payload = [UInt8](repeating: 0, count: WireProtocol.pingPayloadSize)
        for index in payload.indices { payload[index] = UInt8.random(in: 0...255) }
        self.write { buffer in
            FrameEncoder.encode(type: .ping, streamID: 0, payload: payload, into: &buffer)
        }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.keepaliveDeadline = context.eventLoop.scheduleTask(in: TimeAmount(self.settings.keepaliveTimeout)) {
            let handler = loopBound.value
            handler.logger.notice("closing connection: keepalive PING not answered in time")
            handler.context?.close(promise: nil)
        }
    }

    // MARK: - Plumbing

    private func sendHello() {
        var hello = Keylake_Transport_V1_Hello()
        hello.version = WireProtocol.version
        hello.agent = "keylake-swift"
        hello.settings.maxFrameSize = UInt32(clamping: self.settings.maxFrameSize)
        self.write { buffer in
            FrameEncoder.encode(type: .hello, streamID: 0, prefix: WireProtocol.helloMagic, message: hello, into: &buffer)
        }
    }

    var writableContext: ChannelHandlerContext? { self.context }

    private func write(_ body: (inout ByteBuffer) -> Void) {
        self.writeFrames(body)
    }

    private static let dedicatedKeys: Set<String> = [
        KeylakeMetadataKey.requestID, KeylakeMetadataKey.traceparent, KeylakeMetadataKey.tracestate,
        KeylakeMetadataKey.onBehalfOf, KeylakeMetadataKey.grpcTimeout,
    ]
}

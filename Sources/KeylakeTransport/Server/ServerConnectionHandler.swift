import GRPCCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import SwiftProtobuf
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A call the connection accepted, on its way to a handler task in ``KeylakeServerTransport/listen(streamHandler:)``.
struct AcceptedStream: Sendable {
    var stream: RPCStream<KeylakeServerTransport.Inbound, KeylakeServerTransport.Outbound>
    var identity: PeerIdentity
    var remotePeer: String
    var localPeer: String
    /// Hands the call's cancellation handle to the connection, so a CANCEL frame, a broken limit
    /// or the end of the shutdown grace period can cancel the handler.
    var registerCancellation: @Sendable (CallCanceller) -> Void
}

/// The server side of one connection: a thin shell that feeds frames to
/// ``ServerConnectionStateMachine`` and carries out its actions on the channel.
///
/// It also owns the connection's timers (TLS handshake, HELLO, idle, shutdown grace) and takes
/// the caller's principal from the verified client certificate once the handshake completes.
final class ServerConnectionHandler: ChannelInboundHandler, CoalescingFrameWriter {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    /// Sent through the pipeline to start a graceful shutdown of the connection.
    struct GracefulShutdownEvent: Sendable {}

    private final class Stream {
        let continuation: PartBuffer<RPCRequestPart<TransportBytes>>
        let deadline: NIODeadline?
        var cancellation: CallCanceller?
        var cancelRequested = false
        /// Fires at the deadline: ends the call with DEADLINE_EXCEEDED and cancels the handler.
        var deadlineTimer: Scheduled<Void>?

        init(continuation: PartBuffer<RPCRequestPart<TransportBytes>>, deadline: NIODeadline?) {
            self.continuation = continuation
            self.deadline = deadline
        }

        deinit {
            // The call ended (or the connection went) before its deadline.
            self.deadlineTimer?.cancel()
        }

        func cancel() {
            self.cancelRequested = true
            self.cancellation?.cancel()
        }
    }

    private var machine: ServerConnectionStateMachine
    private var streams: [UInt32: Stream] = [:]
    private let accept: AsyncStream<AcceptedStream>.Continuation
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var principal: String?
    private var userAgent: String?
    /// The largest frame the client accepts, from its HELLO; a larger response message ends the
    /// call with RESOURCE_EXHAUSTED instead of breaking the protocol for the whole connection.
    private var clientMaxFrameSize: Int?
    private var remoteIP: String?
    private var remotePeer = "unknown"
    private var localPeer = "unknown"
    private var handshakeTimer: Scheduled<Void>?
    private var helloTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var graceTimer: Scheduled<Void>?
    var flushScheduled = false
    private var closing = false

    init(limits: ServerLimits, accept: AsyncStream<AcceptedStream>.Continuation, logger: Logger) {
        self.machine = ServerConnectionStateMachine(limits: limits)
        self.accept = accept
        self.logger = logger
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.remotePeer = context.channel.remoteAddress.map { "\($0)" } ?? "unknown"
        self.remoteIP = context.channel.remoteAddress?.ipAddress
        self.localPeer = context.channel.localAddress.map { "\($0)" } ?? "unknown"
        self.logger[metadataKey: "peer"] = "\(self.remotePeer)"
        self.handshakeTimer = self.schedule(after: self.machine.limits.tlsHandshakeTimeout) { handler in
            handler.logger.notice("closing connection: TLS handshake not completed within the timeout")
            handler.context?.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.cancelTimers()
        self.context = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = tls {
            self.handshakeCompleted(context: context, negotiatedProtocol: negotiated)
        } else if event is GracefulShutdownEvent {
            self.beginGracefulShutdown()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        guard !self.closing else { return }
        let action = self.machine.receive(frame, now: .now())
        self.perform(action)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.cancelTimers()
        _ = self.machine.close()
        let lost = RPCError(code: .unavailable, message: "connection closed")
        for (_, stream) in self.streams {
            stream.continuation.finish(throwing: lost)
            stream.cancel()
        }
        self.streams.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let violation = error as? ProtocolViolation {
            self.close(with: violation)
        } else {
            // TLS failures (bad certificate, wrong version) and I/O errors end only this connection.
            self.logger.notice("closing connection after error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: - Handshake and identity

    private func handshakeCompleted(context: ChannelHandlerContext, negotiatedProtocol: String?) {
        self.handshakeTimer?.cancel()
        self.handshakeTimer = nil
        guard negotiatedProtocol == WireProtocol.alpn else {
            self.logger.notice(
                "closing connection: ALPN protocol \(negotiatedProtocol ?? "none") is not \(WireProtocol.alpn)")
            context.close(promise: nil)
            return
        }
        let der = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
            .peerCertificate?.toDERBytes()
        guard let der, let principal = CertificatePrincipal.principal(fromDER: der) else {
            self.logger.notice("closing connection: client certificate carries no URI SAN principal")
            context.close(promise: nil)
            return
        }
        self.principal = principal
        self.logger[metadataKey: "principal"] = "\(principal)"
        self.helloTimer = self.schedule(after: self.machine.limits.helloTimeout) { handler in
            if let violation = handler.machine.helloTimerFired() {
                handler.close(with: violation)
            }
        }
    }

    // MARK: - Actions

    private func perform(_ action: ServerConnectionStateMachine.Action) {
        switch action {
        case .none:
            break
        case .sendHello(let agent, let clientMaxFrameSize):
            self.userAgent = agent.isEmpty ? nil : agent
            if clientMaxFrameSize > 0 { self.clientMaxFrameSize = Int(clientMaxFrameSize) }
            self.helloTimer?.cancel()
            self.helloTimer = nil
            self.sendHello()
            self.armIdleTimerIfIdle()
        case .openStream(let id, let headers):
            self.openStream(id, headers: headers)
        case .refuseStream(let id, let code, let message):
            self.writeStatus(id, GRPCCore.Status(code: code, message: message), trailers: [:])
        case .deliverMessage(let id, let payload, let end):
            guard let stream = self.streams[id] else { return }
            stream.continuation.yield(.message(TransportBytes(payload)))
            if end { stream.continuation.finish() }
        case .finishInbound(let id):
            self.streams[id]?.continuation.finish()
        case .cancelStream(let id, let code, let message):
            if let stream = self.streams.removeValue(forKey: id) {
                stream.continuation.finish(throwing: RPCError(code: .cancelled, message: message))
                stream.cancel()
            }
            if let code {
                self.writeStatus(id, GRPCCore.Status(code: code, message: message), trailers: [:])
            }
            self.streamEnded(id)
        case .pong(let payload):
            self.write { buffer in
                FrameEncoder.encode(type: .ping, flags: .ack, streamID: 0, payload: payload.readableBytesView, into: &buffer)
            }
        case .closeConnection(let violation):
            self.close(with: violation)
        case .closeWhenIdle:
            if self.machine.openStreamCount == 0 { self.closeAfterFlush() }
        }
    }

    private func sendHello() {
        var hello = Keylake_Transport_V1_Hello()
        hello.version = WireProtocol.version
        hello.agent = "keylake-swift"
        let limits = self.machine.limits
        hello.settings.maxFrameSize = UInt32(clamping: limits.maxFrameSize)
        hello.settings.maxConcurrentStreams = UInt32(clamping: limits.maxConcurrentStreams)
        hello.settings.maxHeaderBytes = UInt32(clamping: limits.maxHeaderBytes)
        hello.settings.idleTimeoutMs = UInt32(clamping: limits.idleTimeout.milliseconds)
        self.write { buffer in
            FrameEncoder.encode(type: .hello, streamID: 0, prefix: WireProtocol.helloMagic, message: hello, into: &buffer)
        }
    }

    private func openStream(_ id: UInt32, headers: Keylake_Transport_V1_RequestHeaders) {
        guard let principal = self.principal, let context = self.context else {
            self.writeStatus(id, GRPCCore.Status(code: .unauthenticated, message: "no verified client identity"), trailers: [:])
            _ = self.machine.streamClosed(id)
            return
        }
        guard let descriptor = MethodDescriptor(wirePath: headers.method) else {
            self.writeStatus(
                id, GRPCCore.Status(code: .unimplemented, message: "malformed method name; expected /package.Service/Method"),
                trailers: [:])
            _ = self.machine.streamClosed(id)
            return
        }
        self.idleTimer?.cancel()
        self.idleTimer = nil

        let requestID = headers.requestID.isEmpty ? RequestID.make() : headers.requestID
        var metadata = Metadata(wireEntries: headers.metadata)
        metadata.replaceOrAddString(requestID, forKey: KeylakeMetadataKey.requestID)
        if !headers.traceparent.isEmpty { metadata.replaceOrAddString(headers.traceparent, forKey: KeylakeMetadataKey.traceparent) }
        if !headers.tracestate.isEmpty { metadata.replaceOrAddString(headers.tracestate, forKey: KeylakeMetadataKey.tracestate) }
        if !headers.onBehalfOf.isEmpty { metadata.replaceOrAddString(headers.onBehalfOf, forKey: KeylakeMetadataKey.onBehalfOf) }
        // The transport enforces the deadline itself, with a timer on this event loop: the client
        // gets DEADLINE_EXCEEDED at the deadline even from a handler that ignores cancellation.
        // GRPCCore's server would also race every call carrying `grpc-timeout` against a
        // `Task.sleep` in a task group of its own, so that entry is never passed on, not even when
        // a client sends one as ordinary metadata.
        metadata.removeAllValues(forKey: KeylakeMetadataKey.grpcTimeout)
        var deadline: NIODeadline?
        var timeout: Duration?
        if headers.timeoutMicros > 0 {
            let micros = Int64(clamping: headers.timeoutMicros)
            deadline = .now() + .microseconds(micros)
            timeout = .microseconds(micros)
        }

        let inbound = PartBuffer<RPCRequestPart<TransportBytes>>()
        let continuation = inbound
        continuation.yield(.metadata(metadata))
        let stream = Stream(continuation: continuation, deadline: deadline)
        self.streams[id] = stream
        if let timeout {
            stream.deadlineTimer = self.schedule(after: timeout) { handler in handler.deadlinePassed(id) }
        }

        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let writer = ServerStreamWriter(streamID: id, eventLoop: eventLoop, handler: loopBound)
        let accepted = AcceptedStream(
            stream: RPCStream(
                descriptor: descriptor,
                inbound: RPCAsyncSequence(wrapping: inbound),
                outbound: RPCWriter.Closable(wrapping: writer)),
            identity: PeerIdentity(
                principal: principal,
                onBehalfOf: headers.onBehalfOf.isEmpty ? nil : headers.onBehalfOf,
                requestID: requestID,
                traceparent: headers.traceparent.isEmpty ? nil : headers.traceparent,
                remoteAddress: self.remoteIP,
                userAgent: self.userAgent),
            remotePeer: self.remotePeer,
            localPeer: self.localPeer,
            registerCancellation: { handle in
                eventLoop.execute { loopBound.value.register(handle, for: id) }
            })
        if case .terminated = self.accept.yield(accepted) {
            self.streams.removeValue(forKey: id)
            continuation.finish()
            self.writeStatus(id, GRPCCore.Status(code: .unavailable, message: "server is not accepting calls"), trailers: [:])
            self.streamEnded(id)
        }
    }

    /// A call's deadline passed while it was open: the client gets DEADLINE_EXCEEDED now, the
    /// handler's task is cancelled, and whatever it writes afterwards is dropped.
    private func deadlinePassed(_ id: UInt32) {
        guard let stream = self.streams.removeValue(forKey: id) else { return }
        stream.continuation.finish(throwing: RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
        stream.cancel()
        self.writeStatus(id, GRPCCore.Status(code: .deadlineExceeded, message: "deadline exceeded"), trailers: [:])
        self.streamEnded(id)
    }

    private func register(_ handle: CallCanceller, for id: UInt32) {
        guard let stream = self.streams[id] else {
            // The call was cancelled or the connection closed before its task started.
            handle.cancel()
            return
        }
        stream.cancellation = handle
        if stream.cancelRequested { handle.cancel() }
    }

    // MARK: - Writes from handler tasks

    /// Sends one response part of a call; called on the event loop by ``ServerStreamWriter``.
    func send(_ part: RPCResponsePart<TransportBytes>, on id: UInt32) {
        guard let stream = self.streams[id] else { return }  // cancelled or closed: drop
        switch part {
        case .metadata(let metadata):
            var headers = Keylake_Transport_V1_ResponseHeaders()
            headers.metadata = metadata.wireEntries()
            self.write { buffer in
                FrameEncoder.encode(type: .headers, streamID: id, message: headers, into: &buffer)
            }
        case .message(let bytes):
            if let limit = self.clientMaxFrameSize, bytes.buffer.readableBytes > limit {
                let size = bytes.buffer.readableBytes
                stream.cancellation?.cancel()
                self.finishStream(
                    id,
                    status: GRPCCore.Status(
                        code: .resourceExhausted, message: "response message of \(size) bytes exceeds the client's frame limit of \(limit) bytes"),
                    trailers: [:])
                return
            }
            self.write { buffer in
                FrameEncoder.encode(Frame(type: .message, streamID: id, payload: bytes.buffer), into: &buffer)
            }
        case .status(var status, let trailers):
            if status.code != .ok, let deadline = stream.deadline, deadline <= .now() {
                status = GRPCCore.Status(code: .deadlineExceeded, message: "deadline exceeded")
            }
            self.finishStream(id, status: status, trailers: trailers)
        }
    }

    /// The handler's writer closed; if no status was sent, the call ends with one now.
    func finish(_ id: UInt32, error: (any Error)?) {
        guard self.streams[id] != nil else { return }
        let status =
            error == nil
            ? GRPCCore.Status(code: .internalError, message: "handler ended without a status")
            : GRPCCore.Status(code: .unknown, message: "handler failed")
        self.finishStream(id, status: status, trailers: [:])
    }

    private func finishStream(_ id: UInt32, status: GRPCCore.Status, trailers: Metadata) {
        if let stream = self.streams.removeValue(forKey: id) {
            stream.continuation.finish()
        }
        self.writeStatus(id, status, trailers: trailers)
        self.streamEnded(id)
    }

    private func streamEnded(_ id: UInt32) {
        if self.machine.streamClosed(id) {
            self.closeAfterFlush()
        } else {
            self.armIdleTimerIfIdle()
        }
    }

    private func writeStatus(_ id: UInt32, _ status: GRPCCore.Status, trailers: Metadata) {
        let wire = Keylake_Transport_V1_Status(status, trailers: trailers)
        self.write { buffer in
            FrameEncoder.encode(type: .status, streamID: id, message: wire, into: &buffer)
        }
    }

    // MARK: - Shutdown

    private func beginGracefulShutdown() {
        guard let (lastStreamID, closeNow) = self.machine.beginGracefulShutdown() else { return }
        self.sendGoAway(code: .noError, lastStreamID: lastStreamID, reason: "server shutting down")
        if closeNow {
            self.closeAfterFlush()
            return
        }
        self.graceTimer = self.schedule(after: self.machine.limits.shutdownGracePeriod) { handler in
            handler.logger.notice(
                "shutdown grace period over; cancelling calls still open",
                metadata: ["calls": "\(handler.streams.count)"])
            for (id, stream) in handler.streams {
                stream.continuation.finish(throwing: RPCError(code: .unavailable, message: "server shut down"))
                stream.cancel()
                handler.writeStatus(id, GRPCCore.Status(code: .unavailable, message: "server shut down"), trailers: [:])
            }
            handler.streams.removeAll()
            _ = handler.machine.close()
            handler.closeAfterFlush()
        }
    }

    private func close(with violation: ProtocolViolation) {
        guard !self.closing else { return }
        self.logger.warning(
            "closing connection: protocol violation",
            metadata: ["code": "\(violation.code)", "reason": "\(violation.reason)"])
        _ = self.machine.close()
        self.sendGoAway(code: violation.code, lastStreamID: self.machine.lastStreamID, reason: violation.reason)
        self.closeAfterFlush()
    }

    private func sendGoAway(code: Keylake_Transport_V1_GoAwayCode, lastStreamID: UInt32, reason: String) {
        var goAway = Keylake_Transport_V1_GoAway()
        goAway.code = code
        goAway.lastStreamID = lastStreamID
        goAway.reason = reason
        self.write { buffer in
            FrameEncoder.encode(type: .goAway, streamID: 0, message: goAway, into: &buffer)
        }
    }

    private func closeAfterFlush() {
        guard !self.closing, let context = self.context else { return }
        self.flushIfNeeded()  // before `closing` is set: once closing, nothing more is written
        self.closing = true
        context.close(promise: nil)
    }

    // MARK: - Plumbing

    var writableContext: ChannelHandlerContext? { self.closing ? nil : self.context }

    private func write(_ body: (inout ByteBuffer) -> Void) {
        self.writeFrames(body)
    }

    private func armIdleTimerIfIdle() {
        guard self.machine.openStreamCount == 0, self.machine.isEstablished, self.idleTimer == nil, !self.closing
        else { return }
        self.idleTimer = self.schedule(after: self.machine.limits.idleTimeout) { handler in
            handler.idleTimer = nil
            guard handler.machine.openStreamCount == 0 else { return }
            handler.logger.debug("closing idle connection")
            _ = handler.machine.close()
            handler.sendGoAway(code: .idleTimeout, lastStreamID: handler.machine.lastStreamID, reason: "idle")
            handler.closeAfterFlush()
        }
    }

    private func schedule(after delay: Duration, _ body: @escaping @Sendable (ServerConnectionHandler) -> Void) -> Scheduled<Void>? {
        guard let context = self.context else { return nil }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        return context.eventLoop.scheduleTask(in: TimeAmount(delay)) { body(loopBound.value) }
    }

    private func cancelTimers() {
        for timer in [self.handshakeTimer, self.helloTimer, self.idleTimer, self.graceTimer] { timer?.cancel() }
        self.handshakeTimer = nil
        self.helloTimer = nil
        self.idleTimer = nil
        self.graceTimer = nil
    }
}

/// The outbound side of one server call: hands response parts to the connection's event loop.
///
/// Response headers are held back until the first message or the status, and nothing is sent
/// for `finish()` after a status: a unary call then costs two event-loop hops instead of four.
final class ServerStreamWriter: ClosableRPCWriterProtocol, Sendable {
    typealias Element = RPCResponsePart<TransportBytes>

    private struct State {
        var heldMetadata: Metadata?
        var statusSent = false
    }

    let streamID: UInt32
    let eventLoop: any EventLoop
    let handler: NIOLoopBound<ServerConnectionHandler>
    private let state = Mutex(State())

    init(streamID: UInt32, eventLoop: any EventLoop, handler: NIOLoopBound<ServerConnectionHandler>) {
        self.streamID = streamID
        self.eventLoop = eventLoop
        self.handler = handler
    }

    func write(_ element: Element) async throws {
        self.send(CollectionOfOne(element))
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        self.send(elements)
    }

    func finish() async {
        let (held, statusSent) = self.state.withLock { state in
            defer { state.heldMetadata = nil }
            return (state.heldMetadata, state.statusSent)
        }
        guard !statusSent else { return }
        let (handler, id) = (self.handler, self.streamID)
        self.eventLoop.execute {
            if let held { handler.value.send(.metadata(held), on: id) }
            handler.value.finish(id, error: nil)
        }
    }

    func finish(throwing error: any Error) async {
        let statusSent = self.state.withLock { state in
            state.heldMetadata = nil
            return state.statusSent
        }
        guard !statusSent else { return }
        let (handler, id) = (self.handler, self.streamID)
        self.eventLoop.execute { handler.value.finish(id, error: error) }
    }

    private func send(_ elements: some Sequence<Element>) {
        var parts: [Element] = []
        self.state.withLock { state in
            for element in elements {
                switch element {
                case .metadata(let metadata):
                    state.heldMetadata = metadata
                case .message, .status:
                    if let held = state.heldMetadata {
                        parts.append(.metadata(held))
                        state.heldMetadata = nil
                    }
                    if case .status = element { state.statusSent = true }
                    parts.append(element)
                }
            }
        }
        guard !parts.isEmpty else { return }
        let (handler, id, toSend) = (self.handler, self.streamID, parts)
        self.eventLoop.execute {
            for part in toSend { handler.value.send(part, on: id) }
        }
    }
}

extension MethodDescriptor {
    /// Parses a wire method name, `/package.Service/Method`.
    init?(wirePath: String) {
        guard wirePath.first == "/" else { return nil }
        let parts = wirePath.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(fullyQualifiedService: String(parts[0]), method: String(parts[1]))
    }

    /// The wire method name, `/package.Service/Method`.
    var wirePath: String { "/\(self.service.fullyQualifiedService)/\(self.method)" }
}

extension TimeAmount {
    /// The same span, saturating at the largest `TimeAmount` (a peer's `timeout_micros` can be
    /// up to 2^64 - 1 µs, more nanoseconds than an `Int64` holds).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (nanoseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflowAgain) = nanoseconds.addingReportingOverflow(attoseconds / 1_000_000_000)
        self = .nanoseconds(overflow || overflowAgain ? (seconds < 0 ? .min : .max) : total)
    }
}

extension Duration {
    /// Whole milliseconds, saturating.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        let (total, overflowAgain) = whole.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        return overflow || overflowAgain ? (seconds < 0 ? .min : .max) : total
    }
}

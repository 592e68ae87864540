// The byte stream a client sends a server after TLS: frames (FrameDecoder, as the server's
// ByteToMessageHandler runs it), HELLO and HEADERS payloads (protobuf, decoded by the server's
// state machine), and the state machine itself fed the decoded frames, as ServerConnectionHandler
// feeds it, with the handler's own decoding of an accepted call's headers.
//
// Input: the raw bytes of a connection, with no framing of the harness's own. The same bytes
// are decoded in one piece and in pieces whose sizes follow the input; both must give the same
// frames and the same error, and the frames must encode back to the bytes they came from.

import FuzzSupport
import GRPCCore
import NIOCore
import SwiftProtobuf

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@testable import KeylakeTransport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = bytes(data, size)
    let limits = ServerLimits()

    let whole = decode(input, pieces: [input.count], maxFrameSize: limits.maxFrameSize)
    var random = SplitMix64(seed: fnv1a(input))
    var pieces: [Int] = []
    var left = input.count
    while left > 0 {
        // Mostly small pieces (every split inside a header), sometimes large ones.
        let piece = min(left, random.below(8) == 0 ? 1 + random.below(4096) : 1 + random.below(16))
        pieces.append(piece)
        left -= piece
    }
    let split = decode(input, pieces: pieces, maxFrameSize: limits.maxFrameSize)
    require(whole.frames == split.frames, "frames depend on how the bytes were split")
    require(whole.violation?.code == split.violation?.code, "the error depends on how the bytes were split")

    var encoded = ByteBuffer()
    for frame in whole.frames { FrameEncoder.encode(frame, into: &encoded) }
    require(Array(encoded.readableBytesView) == Array(input.prefix(encoded.readableBytes)), "frames do not encode back to their bytes")

    // The frames as they come, then behind a valid HELLO (so the fuzzer reaches HEADERS,
    // MESSAGE, CANCEL and PING handling without having to build a HELLO), each with the
    // default limits and with tight ones that the corpus's short sequences can reach.
    var tight = ServerLimits()
    tight.maxConcurrentStreams = 3
    tight.maxHeaderBytes = 200
    tight.maxInboundBytesPerStream = 64
    tight.maxPingsPerMinute = 3
    for limits in [limits, tight] {
        drive(whole.frames, limits: limits)
        if whole.frames.first?.type != .hello {
            drive([validHello] + whole.frames, limits: limits)
        }
    }
    // The same frames as a server's bytes to a client (fhird reading kmsd's answers).
    driveClient(whole.frames)
    if whole.frames.first?.type != .hello { driveClient([validHello] + whole.frames) }
    return 0
}

/// Frames decoded by the server's decoder, fed `pieces` as the socket would, until it throws.
private func decode(_ input: [UInt8], pieces: [Int], maxFrameSize: Int) -> (frames: [Frame], violation: ProtocolViolation?) {
    let processor = NIOSingleStepByteToMessageProcessor(FrameDecoder(maxFrameSize: maxFrameSize))
    var frames: [Frame] = []
    var offset = 0
    do {
        for piece in pieces {
            try processor.process(buffer: ByteBuffer(bytes: input[offset..<(offset + piece)])) { frames.append($0) }
            offset += piece
        }
        try processor.finishProcessing(seenEOF: true) { frames.append($0) }
        return (frames, nil)
    } catch let violation as ProtocolViolation {
        return (frames, violation)
    } catch {
        fatalError("the frame decoder threw something other than a ProtocolViolation: \(error)")
    }
}

/// The HELLO a well-behaved client sends.
private let validHello: Frame = {
    var hello = Keylake_Transport_V1_Hello()
    hello.version = WireProtocol.version
    hello.agent = "fuzz"
    var buffer = ByteBuffer()
    FrameEncoder.encode(type: .hello, streamID: 0, prefix: WireProtocol.helloMagic, message: hello, into: &buffer)
    var decoder = FrameDecoder(maxFrameSize: 1 << 20)
    return try! decoder.decode(buffer: &buffer)!
}()

/// Runs the server's state machine over `frames` as ServerConnectionHandler does, answering calls
/// as a unary service would (a call ends once its request is in), then shuts down.
private func drive(_ frames: [Frame], limits: ServerLimits) {
    var machine = ServerConnectionStateMachine(limits: limits)
    var closed = false
    var highest: UInt32 = 0  // the highest stream id opened or refused
    for (position, frame) in frames.enumerated() {
        // 100 ms between frames: a burst of PINGs lands in one rate-limit window.
        let now = NIODeadline.uptimeNanoseconds(1_000_000_000 + UInt64(position) * 100_000_000)
        let action = machine.receive(frame, now: now)
        if closed {
            require(action == .none, "a closed connection acted on a frame: \(action)")
            continue
        }
        switch action {
        case .none, .pong, .closeWhenIdle:
            break
        case .sendHello(let agent, _):
            require(agent.count <= 128, "agent string not cut")
        case .openStream(let id, let headers):
            require(id > highest, "stream \(id) opened after \(highest)")
            highest = id
            require(!headers.method.isEmpty, "a call without a method was opened")
            // What ServerConnectionHandler.openStream makes of the headers.
            let descriptor = MethodDescriptor(wirePath: headers.method)
            var metadata = Metadata(wireEntries: headers.metadata)
            metadata.replaceOrAddString(headers.requestID.isEmpty ? "generated" : headers.requestID, forKey: KeylakeMetadataKey.requestID)
            metadata.removeAllValues(forKey: KeylakeMetadataKey.grpcTimeout)
            if headers.timeoutMicros > 0 {
                _ = NIODeadline.now() + .microseconds(Int64(clamping: headers.timeoutMicros))
            }
            if let descriptor {
                require(MethodDescriptor(wirePath: descriptor.wirePath) == descriptor, "method name does not round-trip")
            } else {
                _ = machine.streamClosed(id)  // refused with UNIMPLEMENTED
            }
            if frame.flags.contains(.endStream) { _ = machine.streamClosed(id) }
        case .refuseStream(let id, _, _):
            require(id > highest, "stream \(id) refused after \(highest)")
            highest = id
        case .deliverMessage(let id, _, let endStream):
            if endStream { _ = machine.streamClosed(id) }
        case .finishInbound(let id):
            _ = machine.streamClosed(id)
        case .cancelStream(let id, _, _):
            _ = machine.streamClosed(id)
        case .closeConnection:
            closed = true
            _ = machine.close()
        }
        require(machine.openStreamCount <= limits.maxConcurrentStreams, "more open streams than the limit")
    }
    if !closed, let shutdown = machine.beginGracefulShutdown() {
        require(shutdown.lastStreamID == machine.lastStreamID, "GOAWAY announces a stream id other than the highest")
    }
    _ = machine.close()
    require(machine.openStreamCount == 0, "streams left after close")
}

/// Runs the client's state machine over `frames` as ClientConnectionHandler does, with four calls
/// open once the server's HELLO is in: response headers and STATUS become GRPCCore metadata and
/// status (WireMetadata, WireStatus).
private func driveClient(_ frames: [Frame]) {
    var machine = ClientConnectionStateMachine()
    var closed = false
    for frame in frames {
        let action = machine.receive(frame)
        if closed {
            require(action == .none, "a closed client connection acted on a frame: \(action)")
            continue
        }
        switch action {
        case .ready:
            for _ in 0..<4 { _ = machine.openStream() }
        case .deliver(_, .headers(let headers)):
            _ = Metadata(wireEntries: headers.metadata)
        case .deliver(let id, .status(let status)):
            let (grpcStatus, trailers) = status.grpcStatus
            if !status.errorName.isEmpty {
                require(trailers.firstString(KeylakeMetadataKey.errorName) == status.errorName, "error name lost")
            }
            _ = grpcStatus
            _ = machine.streamClosed(id)
        case .goAway(_, _, _, let closeNow):
            if closeNow { closed = true }
        case .closeConnection:
            closed = true
            _ = machine.close()
        case .none, .deliver, .pong, .keepaliveAnswered:
            break
        }
    }
    _ = machine.close()
}

// MARK: - Seeds

@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    makeCorpusIfAsked(argc, argv, seeds: seeds)
    return 0
}

/// Connections as the client transport writes them (its HELLO and HEADERS, built the same way),
/// with FrameEncoder: a unary call, a client-streaming call half-closed with an empty HEADERS,
/// a cancelled call, pings, GOAWAY, and the mistakes the state machine must refuse.
private func seeds() -> [Seed] {
    func hello(version: UInt32 = WireProtocol.version) -> (inout ByteBuffer) -> Void {
        { buffer in
            var hello = Keylake_Transport_V1_Hello()
            hello.version = version
            hello.agent = "keylake-swift"
            hello.settings.maxFrameSize = UInt32(clamping: ClientSettings().maxFrameSize)
            FrameEncoder.encode(type: .hello, streamID: 0, prefix: WireProtocol.helloMagic, message: hello, into: &buffer)
        }
    }
    func headers(_ id: UInt32, _ method: String, end: Bool = false, onBehalfOf: String = "") -> (inout ByteBuffer) -> Void {
        { buffer in
            var headers = Keylake_Transport_V1_RequestHeaders()
            headers.method = method
            headers.timeoutMicros = 5_000_000
            headers.requestID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
            headers.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            headers.onBehalfOf = onBehalfOf
            var entry = Keylake_Transport_V1_MetadataEntry()
            entry.key = "user-agent"
            entry.text = "grpc-swift/2"
            var binary = Keylake_Transport_V1_MetadataEntry()
            binary.key = "trace-bin"
            binary.binary = Data([1, 2, 3, 4])
            headers.metadata = [entry, binary]
            FrameEncoder.encode(type: .headers, flags: end ? .endStream : [], streamID: id, message: headers, into: &buffer)
        }
    }
    func message(_ id: UInt32, _ payload: [UInt8], end: Bool = false) -> (inout ByteBuffer) -> Void {
        { buffer in FrameEncoder.encode(type: .message, flags: end ? .endStream : [], streamID: id, payload: payload, into: &buffer) }
    }
    func frame(_ type: FrameType, _ id: UInt32, flags: FrameFlags = [], _ payload: [UInt8] = []) -> (inout ByteBuffer) -> Void {
        { buffer in FrameEncoder.encode(type: type, flags: flags, streamID: id, payload: payload, into: &buffer) }
    }
    func connection(_ name: String, _ parts: [(inout ByteBuffer) -> Void]) -> Seed {
        var buffer = ByteBuffer()
        for part in parts { part(&buffer) }
        return Seed(name, Array(buffer.readableBytesView))
    }
    let decrypt = "/keylake.kms.v1.KeyManagementService/Decrypt"
    let create = "/keylake.healthlake.v1.HealthLakeService/CreateResource"
    // A DecryptRequest's protobuf bytes: field 1 (ciphertext_blob, 8 bytes), field 2 (one map entry).
    let decryptRequest: [UInt8] = [0x0a, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x12, 0x08, 0x0a, 0x01, 0x61, 0x12, 0x03, 0x62, 0x63, 0x64]
    let ping: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 42]
    return [
        connection("hello", [hello()]),
        connection("unary-call", [hello(), headers(1, decrypt), message(1, decryptRequest, end: true)]),
        connection("unary-on-behalf-of", [
            hello(), headers(1, decrypt, onBehalfOf: "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"),
            message(1, decryptRequest, end: true),
        ]),
        connection("headers-only-call", [hello(), headers(1, "/keylake.diagnostics.v1.Diagnostics/WhoAmI", end: true)]),
        connection("streaming-half-close", [
            hello(), headers(1, create), message(1, Array(#"{"resourceType":"Patient"}"#.utf8)), message(1, [0x0a, 0x00]),
            frame(.headers, 1, flags: .endStream),
        ]),
        connection("two-calls-cancel", [
            hello(), headers(1, decrypt), headers(3, create), message(3, [0x0a, 0x00]), frame(.cancel, 1),
            message(3, [], end: true),
        ]),
        connection("ping-pong-goaway", [
            hello(), frame(.ping, 0, ping), frame(.ping, 0, flags: .ack, ping), headers(1, decrypt),
            frame(.goAway, 0, [0x08, 0x00, 0x10, 0x01]), message(1, decryptRequest, end: true),
        ]),
        connection("ping-flood", [hello()] + Array(repeating: frame(.ping, 0, ping), count: 5)),
        connection("second-hello", [hello(), hello()]),
        connection("wrong-version", [hello(version: 2)]),
        connection("headers-before-hello", [headers(1, decrypt)]),
        connection("reused-stream-id", [hello(), headers(3, decrypt, end: true), headers(1, decrypt, end: true)]),
        connection("message-after-half-close", [hello(), headers(1, decrypt, end: true), message(1, decryptRequest)]),
        connection("truncated", [hello(), headers(1, decrypt)]).truncated(by: 5),
        // A server's answers, as ServerConnectionHandler writes them (client side).
        connection("server-answers", [
            serverHello(), responseHeaders(1), message(1, [0x0a, 0x03, 0x6b, 0x65, 0x79]), status(1, code: 0),
            status(2, code: 7, errorName: "AccessDeniedException"), frame(.ping, 0, ping), goAway(lastStreamID: 3),
        ]),
    ]

    func serverHello() -> (inout ByteBuffer) -> Void {
        { buffer in
            var hello = Keylake_Transport_V1_Hello()
            hello.version = WireProtocol.version
            hello.agent = "keylake-swift"
            let limits = ServerLimits()
            hello.settings.maxFrameSize = UInt32(clamping: limits.maxFrameSize)
            hello.settings.maxConcurrentStreams = UInt32(clamping: limits.maxConcurrentStreams)
            hello.settings.maxHeaderBytes = UInt32(clamping: limits.maxHeaderBytes)
            hello.settings.idleTimeoutMs = 300_000
            FrameEncoder.encode(type: .hello, streamID: 0, prefix: WireProtocol.helloMagic, message: hello, into: &buffer)
        }
    }
    func responseHeaders(_ id: UInt32) -> (inout ByteBuffer) -> Void {
        { buffer in
            var metadata = Metadata()
            metadata.addString("kmsd", forKey: "server")
            metadata.addBinary([1, 2], forKey: "trace-bin")
            var headers = Keylake_Transport_V1_ResponseHeaders()
            headers.metadata = metadata.wireEntries()
            FrameEncoder.encode(type: .headers, streamID: id, message: headers, into: &buffer)
        }
    }
    func status(_ id: UInt32, code: Int, errorName: String? = nil) -> (inout ByteBuffer) -> Void {
        { buffer in
            var trailers = Metadata()
            trailers.addString("0f1e2d3c", forKey: KeylakeMetadataKey.requestID)
            if let errorName { trailers.addString(errorName, forKey: KeylakeMetadataKey.errorName) }
            let wire = Keylake_Transport_V1_Status(GRPCCore.Status(code: .init(rawValue: code)!, message: "done"), trailers: trailers)
            FrameEncoder.encode(type: .status, streamID: id, message: wire, into: &buffer)
        }
    }
    func goAway(lastStreamID: UInt32) -> (inout ByteBuffer) -> Void {
        { buffer in
            var goAway = Keylake_Transport_V1_GoAway()
            goAway.lastStreamID = lastStreamID
            goAway.code = .noError
            goAway.reason = "shutting down"
            FrameEncoder.encode(type: .goAway, streamID: 0, message: goAway, into: &buffer)
        }
    }
}

extension Seed {
    fileprivate func truncated(by count: Int) -> Seed {
        Seed(self.name, Array(self.bytes.dropLast(count)))
    }
}

import NIOCore
import SwiftProtobuf
import Testing

@testable import KeylakeTransport

@Suite("Frame codec")
struct FrameCodecTests {
    static let maxFrameSize = 1024

    static func sampleFrames() -> [Frame] {
        var hello = Keylake_Transport_V1_Hello()
        hello.version = 1
        var helloPayload = ByteBuffer(bytes: WireProtocol.helloMagic)
        helloPayload.writeBytes(try! hello.serializedBytes() as [UInt8])
        var headers = Keylake_Transport_V1_RequestHeaders()
        headers.method = "/grpc.health.v1.Health/Check"
        headers.timeoutMicros = 5_000_000
        var goAway = Keylake_Transport_V1_GoAway()
        goAway.code = .protocolError
        goAway.reason = "test"
        var status = Keylake_Transport_V1_Status()
        status.code = 9
        status.errorName = "DisabledException"
        return [
            Frame(type: .hello, streamID: 0, payload: helloPayload),
            Frame(type: .headers, streamID: 1, payload: ByteBuffer(bytes: try! headers.serializedBytes() as [UInt8])),
            Frame(type: .headers, flags: .endStream, streamID: 7, payload: ByteBuffer()),
            Frame(type: .message, streamID: 1, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5])),
            Frame(type: .message, flags: .endStream, streamID: UInt32.max, payload: ByteBuffer()),
            Frame(type: .status, streamID: 3, payload: ByteBuffer(bytes: try! status.serializedBytes() as [UInt8])),
            Frame(type: .cancel, streamID: 5, payload: ByteBuffer()),
            Frame(type: .ping, streamID: 0, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])),
            Frame(type: .ping, flags: .ack, streamID: 0, payload: ByteBuffer(bytes: [8, 7, 6, 5, 4, 3, 2, 1])),
            Frame(type: .goAway, streamID: 0, payload: ByteBuffer(bytes: try! goAway.serializedBytes() as [UInt8])),
            Frame(type: .message, streamID: 9, payload: ByteBuffer(repeating: 0xAB, count: maxFrameSize)),
        ]
    }

    static func encoded(_ frames: [Frame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { FrameEncoder.encode(frame, into: &buffer) }
        return buffer
    }

    /// Feeds `bytes` in chunks and collects every frame the decoder returns.
    static func decodeAll(_ chunks: [ByteBuffer]) throws -> [Frame] {
        var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
        var accumulated = ByteBuffer()
        var frames: [Frame] = []
        for var chunk in chunks {
            accumulated.writeBuffer(&chunk)
            while let frame = try decoder.decode(buffer: &accumulated) { frames.append(frame) }
        }
        _ = try decoder.decodeLast(buffer: &accumulated, seenEOF: true)
        return frames
    }

    @Test("every frame type round-trips", arguments: FrameCodecTests.sampleFrames())
    func roundTrip(frame: Frame) throws {
        let decoded = try Self.decodeAll([Self.encoded([frame])])
        #expect(decoded == [frame])
    }

    @Test("header layout is length, type, flags, stream id, big-endian")
    func headerLayout() {
        let frame = Frame(type: .message, flags: .endStream, streamID: 0x0102_0304, payload: ByteBuffer(bytes: [0xFF]))
        let bytes = Array(Self.encoded([frame]).readableBytesView)
        #expect(bytes == [0, 0, 0, 1, 0x03, 0x01, 0x01, 0x02, 0x03, 0x04, 0xFF])
    }

    @Test("a stream split at every byte boundary decodes the same")
    func everySplit() throws {
        let frames = Self.sampleFrames()
        let whole = Self.encoded(frames)
        let bytes = Array(whole.readableBytesView)
        for split in 0...bytes.count {
            let decoded = try Self.decodeAll([ByteBuffer(bytes: bytes[..<split]), ByteBuffer(bytes: bytes[split...])])
            #expect(decoded == frames, "split at \(split)")
        }
        // And one byte at a time.
        let single = try Self.decodeAll(bytes.map { ByteBuffer(bytes: [$0]) })
        #expect(single == frames)
    }

    @Test("an oversized length is rejected from the header alone, before the payload arrives")
    func oversizedBeforeBuffering() {
        var header = ByteBuffer()
        header.writeInteger(UInt32(Self.maxFrameSize + 1))
        header.writeInteger(FrameType.message.rawValue)
        header.writeInteger(UInt8(0))
        header.writeInteger(UInt32(1))
        var decoder = FrameDecoder(maxFrameSize: Self.maxFrameSize)
        #expect(throws: ProtocolViolation(.frameTooLarge, "")) {
            _ = try decoder.decode(buffer: &header)
        }
        var huge = ByteBuffer()
        huge.writeInteger(UInt32.max)
        huge.writeBytes([0x03, 0, 0, 0, 0, 1])
        #expect(throws: ProtocolViolation(.frameTooLarge, "")) {
            _ = try decoder.decode(buffer: &huge)
        }
    }

    @Test("a frame of exactly the limit is accepted")
    func exactlyAtLimit() throws {
        let frame = Frame(type: .message, streamID: 1, payload: ByteBuffer(repeating: 1, count: Self.maxFrameSize))
        #expect(try Self.decodeAll([Self.encoded([frame])]) == [frame])
    }

    @Test("unknown frame types are protocol errors", arguments: [UInt8(0), 0x08, 0x7F, 0xFF])
    func unknownType(type: UInt8) {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(0))
        buffer.writeBytes([type, 0, 0, 0, 0, 1])
        var decoder = FrameDecoder(maxFrameSize: Self.maxFrameSize)
        #expect(throws: ProtocolViolation(.protocolError, "")) { _ = try decoder.decode(buffer: &buffer) }
    }

    @Test("stream ids must fit the frame type")
    func streamIDRules() {
        let bad: [Frame] = [
            Frame(type: .headers, streamID: 0),
            Frame(type: .message, streamID: 0),
            Frame(type: .status, streamID: 0),
            Frame(type: .cancel, streamID: 0),
            Frame(type: .hello, streamID: 1),
            Frame(type: .goAway, streamID: 3),
            Frame(type: .ping, streamID: 2, payload: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 0])),
        ]
        for frame in bad {
            var buffer = Self.encoded([frame])
            var decoder = FrameDecoder(maxFrameSize: Self.maxFrameSize)
            #expect(throws: ProtocolViolation(.protocolError, ""), "\(frame.type) on \(frame.streamID)") {
                _ = try decoder.decode(buffer: &buffer)
            }
        }
    }

    @Test("a PING must carry exactly 8 bytes", arguments: [0, 7, 9, 64])
    func pingSize(size: Int) {
        var buffer = Self.encoded([Frame(type: .ping, streamID: 0, payload: ByteBuffer(repeating: 0, count: size))])
        var decoder = FrameDecoder(maxFrameSize: Self.maxFrameSize)
        #expect(throws: ProtocolViolation(.protocolError, "")) { _ = try decoder.decode(buffer: &buffer) }
    }

    @Test("input that ends inside a frame is reported as truncated")
    func truncated() throws {
        let bytes = Array(Self.encoded(Self.sampleFrames()).readableBytesView)
        for cut in [1, 5, 9, 11, bytes.count - 1] {
            var buffer = ByteBuffer(bytes: bytes[..<cut])
            var decoder = FrameDecoder(maxFrameSize: Self.maxFrameSize)
            while try decoder.decode(buffer: &buffer) != nil {}
            #expect(throws: ProtocolViolation(.protocolError, ""), "cut at \(cut)") {
                _ = try decoder.decodeLast(buffer: &buffer, seenEOF: true)
            }
        }
    }

    @Test("random garbage never crashes the decoder and is rejected or left pending")
    func garbage() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let count = Int.random(in: 0...64, using: &generator)
            var buffer = ByteBuffer(bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
            var decoder = FrameDecoder(maxFrameSize: Self.maxFrameSize)
            do {
                while let frame = try decoder.decode(buffer: &buffer) {
                    #expect(frame.payload.readableBytes <= Self.maxFrameSize)
                }
            } catch {
                #expect(error is ProtocolViolation)
            }
        }
    }
}

@Suite("Request ids")
struct RequestIDTests {
    @Test("request ids are version-4 UUID text and do not repeat")
    func format() {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = RequestID.make()
            #expect(id.count == 36)
            let parts = id.split(separator: "-")
            #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
            #expect(parts[2].first == "4")
            #expect("89ab".contains(parts[3].first!))
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
    }
}

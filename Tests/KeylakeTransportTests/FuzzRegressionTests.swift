import Foundation
import GRPCCore
import NIOCore
import SwiftProtobuf
import Testing

@testable import KeylakeTransport

/// Inputs the fuzz targets (Tests/Fuzz) found crashing, replayed through the same code.
@Suite("Fuzz regressions: transport")
struct TransportFuzzRegressionTests {
    /// Tests/Fuzz/Crashes/FuzzFrames-crash-0e77349adf5cd45258e61606dd9fc595f07469b0: a client's
    /// HELLO, then HEADERS whose metadata carries a binary value under the key "trac\u{1}\u{1}bin"
    /// (no `-bin` suffix), then a truncated frame. Turning that entry into GRPCCore `Metadata`
    /// hit GRPCCore's assertion "Keys for binary values must end in -bin": one frame from any
    /// client with a certificate trapped a debug-built server.
    static let binaryValueWithoutBinKey = bytes(
        hex: "000000200100000000004b45594c414b45000801120508808080021a0d6b65796c616b652d7377696674000000bd0200000000010a2c2f6b"
            + "65796c616b652e6b6d732e76312e4b65794d616e6167656d656e74536572766963652f4465637279707410c096b1021a2030663165326433"
            + "63346235613639373838373936613562346333643265316630223730302d34626639326633353737623334646136613363653932396430"
            + "653065343733362d303066303637616130626139303262372d30313a1a0a0a757365722d6167656e74120c677270632d73776966742f32"
            + "3a110a0974726163010162696e1a0401020304000000c80200000000030a372f")

    static func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    @Test("HEADERS with a binary metadata value under a key without -bin is a protocol error, not a trap")
    func binaryMetadataWithoutBinSuffixOnServer() throws {
        var buffer = ByteBuffer(bytes: Self.binaryValueWithoutBinKey)
        var decoder = FrameDecoder(maxFrameSize: ServerLimits().maxFrameSize)
        var frames: [Frame] = []
        while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
        #expect(frames.map(\.type) == [.hello, .headers])

        var machine = ServerConnectionStateMachine(limits: ServerLimits())
        guard case .sendHello = machine.receive(frames[0], now: .now()) else {
            Issue.record("HELLO not accepted")
            return
        }
        guard case .closeConnection(let violation) = machine.receive(frames[1], now: .now()) else {
            Issue.record("HEADERS with a malformed metadata entry opened a call")
            return
        }
        #expect(violation.code == .protocolError)
        #expect(violation.reason.contains("-bin"))
        #expect(machine.openStreamCount == 0)

        // The conversion itself no longer traps: the malformed entry is left out, the rest kept.
        let headers = try Keylake_Transport_V1_RequestHeaders(serializedBytes: Array(frames[1].payload.readableBytesView))
        let metadata = Metadata(wireEntries: headers.metadata)
        #expect(Array(metadata[stringValues: "user-agent"]) == ["grpc-swift/2"])
        #expect(metadata.count == 1)
    }

    @Test("response HEADERS or STATUS with a binary value under a key without -bin is a protocol error for the client")
    func binaryMetadataWithoutBinSuffixOnClient() throws {
        var entry = Keylake_Transport_V1_MetadataEntry()
        entry.key = "trace"
        entry.binary = Data([1, 2, 3])

        var status = Keylake_Transport_V1_Status()
        status.code = 0
        status.trailers = [entry]
        var machine = ClientStateMachineTests.ready()
        _ = machine.openStream()
        let statusFrame = Frame(type: .status, streamID: 1, payload: ByteBuffer(bytes: try status.serializedBytes() as [UInt8]))
        guard case .closeConnection(let violation) = machine.receive(statusFrame) else {
            Issue.record("STATUS with a malformed trailer delivered")
            return
        }
        #expect(violation.code == .protocolError)

        var headers = Keylake_Transport_V1_ResponseHeaders()
        headers.metadata = [entry]
        var other = ClientStateMachineTests.ready()
        _ = other.openStream()
        let headersFrame = Frame(type: .headers, streamID: 1, payload: ByteBuffer(bytes: try headers.serializedBytes() as [UInt8]))
        guard case .closeConnection = other.receive(headersFrame) else {
            Issue.record("response HEADERS with a malformed entry delivered")
            return
        }
    }
}

import KeylakeFaultProxy
import Testing

@Suite("Toxic specs")
struct ToxicSpecTests {
    @Test("every type parses with its parameters, name and direction")
    func parsesEveryType() throws {
        let latency = try Toxic(spec: "latency latency=200 jitter=50 direction=both")
        #expect(latency.name == "latency")
        #expect(latency.direction == .both)
        #expect(latency.kind == .latency(latency: .milliseconds(200), jitter: .milliseconds(50)))

        #expect(try Toxic(spec: "bandwidth rate=1000").kind == .bandwidth(bytesPerSecond: 1000))
        #expect(try Toxic(spec: "bandwidth rate=1000").direction == .downstream)
        #expect(try Toxic(spec: "timeout timeout=1.5").kind == .timeout(.microseconds(1500)))
        let blackhole = try Toxic(spec: "blackhole direction=upstream")
        #expect(blackhole.name == "blackhole")
        #expect(blackhole.kind == .timeout(.zero))
        #expect(try Toxic(spec: "reset_peer timeout=10").kind == .resetPeer(after: .milliseconds(10)))
        #expect(
            try Toxic(spec: "slicer average_size=10 size_variation=3 delay=1 name=cut").kind
                == .slicer(averageSize: 10, sizeVariation: 3, delay: .milliseconds(1)))
        #expect(try Toxic(spec: "slicer average_size=10 name=cut").name == "cut")
        #expect(try Toxic(spec: "slow_close delay=5").kind == .slowClose(delay: .milliseconds(5)))
    }

    @Test("a toxic's spec reads back to the same toxic")
    func specRoundTrips() throws {
        for spec in [
            "latency latency=200 jitter=50 direction=both", "bandwidth rate=12345 name=slow", "blackhole",
            "reset_peer timeout=0.25 direction=upstream", "slicer average_size=7 size_variation=2 delay=0.5",
            "slow_close delay=100",
        ] {
            let toxic = try Toxic(spec: spec)
            #expect(try Toxic(spec: toxic.spec) == toxic, "\(spec) -> \(toxic.spec)")
        }
    }

    @Test(
        "malformed specs are rejected with a message naming the problem",
        arguments: [
            ("", "empty toxic spec"),
            ("latency", "latency=MS is required"),
            ("latency latency=-1", "latency must be a number"),
            ("latency latency=abc", "latency must be a number"),
            ("latency latency=1e30", "latency must be a number"),
            ("latency latency=10 latency=20", "given twice"),
            ("latency latency=10 colour=red", "unknown parameter 'colour'"),
            ("latency 10", "expected key=value"),
            ("latency =10", "expected key=value"),
            ("bandwidth rate=0", "rate must be above 0"),
            ("bandwidth", "rate=N is required"),
            ("slicer average_size=0", "average_size must be above 0"),
            ("slicer average_size=5 size_variation=5", "size_variation must be at least 0 and below"),
            ("teleport", "unknown toxic type 'teleport'"),
            ("latency latency=1 direction=sideways", "direction must be upstream, downstream or both"),
            ("latency latency=1 name=bad/name", "toxic name must be"),
        ])
    func rejectsMalformed(spec: String, expected: String) {
        #expect {
            try Toxic(spec: spec)
        } throws: { error in
            guard let error = error as? FaultProxyError else { return false }
            return error.code == .invalidToxic && error.message.contains(expected)
        }
    }
}

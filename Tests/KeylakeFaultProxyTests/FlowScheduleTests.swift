import NIOCore
import Testing

@testable import KeylakeFaultProxy

@Suite("Flow schedule and snapshot decisions (pure)")
struct FlowScheduleTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test("no toxics: one piece, due at once")
    func passThrough() {
        var schedule = FlowSchedule()
        var generator = SplitMix64(seed: 1)
        let pieces = schedule.plan(length: 500, arrival: self.t0, toxics: [], using: &generator)
        #expect(pieces == [.init(offset: 0, length: 500, notBefore: self.t0)])
    }

    @Test("latency with jitter stays within latency ± jitter and repeats for a seed")
    func latencyBounds() {
        var a = SplitMix64(seed: 42)
        var b = SplitMix64(seed: 42)
        var draws: [Duration] = []
        for _ in 0..<1000 {
            let draw = FlowSchedule.draw(latency: .milliseconds(100), jitter: .milliseconds(30), using: &a)
            #expect(draw >= .milliseconds(70) && draw <= .milliseconds(130))
            #expect(draw == FlowSchedule.draw(latency: .milliseconds(100), jitter: .milliseconds(30), using: &b))
            draws.append(draw)
        }
        #expect(Set(draws).count > 100, "jitter must vary")
        var c = SplitMix64(seed: 1)
        #expect(FlowSchedule.draw(latency: .milliseconds(5), jitter: .milliseconds(50), using: &c) >= .zero)
    }

    @Test("latency never reorders: a later chunk is not released before an earlier one")
    func latencyKeepsOrder() {
        var schedule = FlowSchedule()
        var generator = SplitMix64(seed: 7)
        var last = NIODeadline.uptimeNanoseconds(0)
        for index in 0..<200 {
            let arrival = self.t0 + .milliseconds(Int64(index))
            let pieces = schedule.plan(
                length: 10, arrival: arrival, toxics: [.latency(latency: .milliseconds(50), jitter: .milliseconds(40))],
                using: &generator)
            #expect(pieces.count == 1)
            #expect(pieces[0].notBefore >= last)
            #expect(pieces[0].notBefore >= arrival + .milliseconds(10))
            last = pieces[0].notBefore
        }
    }

    @Test("slicer cuts into average ± variation pieces that add up, spaced by the delay")
    func slicer() {
        var generator = SplitMix64(seed: 3)
        let sizes = FlowSchedule.sliceSizes(length: 10_000, average: 100, variation: 20, using: &generator)
        #expect(sizes.reduce(0, +) == 10_000)
        #expect(sizes.dropLast().allSatisfy { (80...120).contains($0) })
        var schedule = FlowSchedule()
        let pieces = schedule.plan(
            length: 1000, arrival: self.t0, toxics: [.slicer(averageSize: 100, sizeVariation: 0, delay: .milliseconds(2))],
            using: &generator)
        #expect(pieces.count == 10)
        #expect(pieces.map(\.offset) == Array(stride(from: 0, to: 1000, by: 100)))
        #expect(pieces.last!.notBefore == self.t0 + .milliseconds(18))
    }

    @Test("bandwidth spaces pieces so N bytes take about N / rate, across chunks")
    func bandwidth() {
        var schedule = FlowSchedule(bandwidthSliceSeconds: 0.05)
        var generator = SplitMix64(seed: 1)
        let first = schedule.plan(length: 10_000, arrival: self.t0, toxics: [.bandwidth(bytesPerSecond: 10_000)], using: &generator)
        // 50 ms worth of 10 000 B/s = 500-byte pieces, 50 ms apart.
        #expect(first.count == 20)
        #expect(first.allSatisfy { $0.length == 500 })
        #expect(first.last!.notBefore == self.t0 + .milliseconds(950))
        let second = schedule.plan(length: 500, arrival: self.t0, toxics: [.bandwidth(bytesPerSecond: 10_000)], using: &generator)
        #expect(second[0].notBefore == self.t0 + .seconds(1))
        // The lowest of several rates wins.
        var other = FlowSchedule(bandwidthSliceSeconds: 1)
        let pieces = other.plan(
            length: 3000, arrival: self.t0, toxics: [.bandwidth(bytesPerSecond: 5000), .bandwidth(bytesPerSecond: 1000)],
            using: &generator)
        #expect(pieces.map(\.length) == [1000, 1000, 1000])
    }

    @Test("a blackhole or a partition holds only the flows it covers")
    func held() throws {
        let blackhole = try Toxic(kind: .timeout(.zero), direction: .upstream)
        let snapshot = ProxySnapshot(version: 1, entries: [.init(toxic: blackhole, id: 1, since: self.t0)], link: .up)
        #expect(snapshot.isHeld(.upstream))
        #expect(!snapshot.isHeld(.downstream))
        let partitioned = ProxySnapshot(version: 2, entries: [], link: .partitioned)
        #expect(partitioned.isHeld(.upstream) && partitioned.isHeld(.downstream))
        let latency = try Toxic(kind: .latency(latency: .milliseconds(1), jitter: .zero), direction: .both)
        #expect(!ProxySnapshot(version: 3, entries: [.init(toxic: latency, id: 2, since: self.t0)], link: .up).isHeld(.upstream))
    }

    @Test("timeout and reset_peer timers start at the later of toxic and connection")
    func timers() throws {
        let timeout = try Toxic(kind: .timeout(.milliseconds(300)), direction: .both)
        let blackhole = try Toxic(name: "hold", kind: .timeout(.zero), direction: .both)
        let reset = try Toxic(kind: .resetPeer(after: .milliseconds(100)), direction: .upstream)
        let snapshot = ProxySnapshot(
            version: 1,
            entries: [
                .init(toxic: timeout, id: 1, since: self.t0), .init(toxic: blackhole, id: 2, since: self.t0),
                .init(toxic: reset, id: 3, since: self.t0 + .seconds(5)),
            ],
            link: .up)
        let timers = snapshot.timers(connectionStart: self.t0 + .seconds(1))
        #expect(
            timers == [
                .init(id: 1, at: self.t0 + .milliseconds(1300), action: .close),
                .init(id: 3, at: self.t0 + .milliseconds(5100), action: .reset(.upstream)),
            ])
        let slow = try Toxic(kind: .slowClose(delay: .milliseconds(40)), direction: .downstream)
        let withSlow = ProxySnapshot(version: 1, entries: [.init(toxic: slow, id: 4, since: self.t0)], link: .up)
        #expect(withSlow.slowCloseDelay(for: .downstream) == .milliseconds(40))
        #expect(withSlow.slowCloseDelay(for: .upstream) == .zero)
    }
}

import Foundation
import KeylakeChaos
import Testing

@Suite("Chaos schedule")
struct ChaosScheduleTests {
    private func kinds(_ schedule: ChaosSchedule, client: Int, count: Int) -> [OperationKind] {
        var generator = schedule.generator(forClient: client)
        return (0..<count).map { index in ChaosSchedule.nextKind(using: &generator, hasResources: index > 0, bundles: true) }
    }

    @Test("the same seed gives the same schedule")
    func reproducible() {
        let first = ChaosSchedule(seed: 1234, duration: 8)
        let second = ChaosSchedule(seed: 1234, duration: 8)
        #expect(first.faultAt == second.faultAt)
        #expect(self.kinds(first, client: 2, count: 200) == self.kinds(second, client: 2, count: 200))
        var a = first.generator(forClient: 0)
        var b = second.generator(forClient: 0)
        #expect((0..<50).map { _ in ChaosSchedule.nextIndex(using: &a, below: 17) } == (0..<50).map { _ in ChaosSchedule.nextIndex(using: &b, below: 17) })
    }

    @Test("different seeds and clients give different schedules")
    func distinct() {
        let first = ChaosSchedule(seed: 1, duration: 8)
        let second = ChaosSchedule(seed: 2, duration: 8)
        #expect(first.faultAt != second.faultAt)
        #expect(self.kinds(first, client: 0, count: 100) != self.kinds(second, client: 0, count: 100))
        #expect(self.kinds(first, client: 0, count: 100) != self.kinds(first, client: 1, count: 100))
    }

    @Test("the fault falls in the middle third", arguments: [UInt64(0), 1, 42, 9_999, .max])
    func faultInMiddleThird(seed: UInt64) {
        let schedule = ChaosSchedule(seed: seed, duration: 9)
        #expect(schedule.faultAt >= 3 && schedule.faultAt < 6)
        #expect(schedule.faultHold >= 1)
    }

    @Test("SplitMix64 matches its reference values")
    func splitMixReference() {
        // First outputs for seed 0 of the reference implementation (Vigna).
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("the op mix: creates first, every kind appears, no bundles when they are off")
    func operationMix() {
        var generator = ChaosSchedule(seed: 7, duration: 8).generator(forClient: 0)
        #expect(ChaosSchedule.nextKind(using: &generator, hasResources: false, bundles: true) == .create)
        let mixed = Set((0..<500).map { _ in ChaosSchedule.nextKind(using: &generator, hasResources: true, bundles: true) })
        #expect(mixed == [.create, .read, .update, .search, .bundle])
        let plain = Set((0..<500).map { _ in ChaosSchedule.nextKind(using: &generator, hasResources: true, bundles: false) })
        #expect(plain == [.create, .read, .update, .search])
    }

    @Test("content digests ignore server metadata and key order, not content")
    func contentDigest() {
        let sent = ContentDigest.of(Data(#"{"resourceType":"Patient","name":[{"family":"A"}]}"#.utf8))
        let stored = ContentDigest.of(Data(#"{"name":[{"family":"A"}],"id":"x","meta":{"versionId":"2"},"resourceType":"Patient"}"#.utf8))
        let changed = ContentDigest.of(Data(#"{"resourceType":"Patient","name":[{"family":"B"}]}"#.utf8))
        #expect(sent != nil && sent == stored)
        #expect(sent != changed)
        #expect(ContentDigest.of(Data("not json".utf8)) == nil)
    }
}

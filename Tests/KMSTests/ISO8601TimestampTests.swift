import Foundation
import Testing

@testable import KMS

@Suite("Audit timestamps")
struct ISO8601TimestampTests {
    @Test("the hand-written formatter gives Foundation's ISO 8601 text for any date 1970–2200")
    func matchesFoundation() {
        var random = SplitMix64(seed: 20_261_129)
        var dates = [0, 86_399, 86_400, 951_782_400, 951_868_800, 1_800_000_000.999, 4_102_444_800, 7_258_118_399].map(Date.init(timeIntervalSince1970:))
        for _ in 0..<5_000 {
            dates.append(Date(timeIntervalSince1970: Double(random.next() % 7_258_118_400) + Double(random.next() % 1000) / 1000))
        }
        for date in dates {
            #expect(ISO8601Timestamp.text(date) == date.formatted(Date.ISO8601FormatStyle()), "\(date.timeIntervalSince1970)")
        }
    }
}

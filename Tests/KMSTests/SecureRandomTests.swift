import Foundation
import Testing

@testable import KMS

@Suite("Secure random")
struct SecureRandomTests {
    @Test("random UUIDs are version 4, parse with Foundation, and do not repeat")
    func uuidStrings() {
        var seen = Set<String>()
        for _ in 0..<5000 {
            let text = SecureRandom.uuidString()
            let parsed = UUID(uuidString: text)
            #expect(parsed != nil)
            #expect(parsed?.uuidString.lowercased() == text)
            #expect(Array(text)[14] == "4")
            #expect("89ab".contains(Array(text)[19]))
            seen.insert(text)
        }
        #expect(seen.count == 5000)
    }

    @Test("event ids are version-7 UUIDs: they parse, carry the time in order, and do not repeat within a millisecond")
    func timeOrderedUUIDStrings() {
        var seen = Set<String>()
        var previousPrefix = ""
        for index in 0..<5000 {
            let milliseconds = Int64(1_800_000_000_000 + index / 100)
            let text = SecureRandom.timeOrderedUUIDString(milliseconds: milliseconds)
            let parsed = UUID(uuidString: text)
            #expect(parsed?.uuidString.lowercased() == text)
            #expect(Array(text)[14] == "7")
            #expect("89ab".contains(Array(text)[19]))
            let hex = text.replacingOccurrences(of: "-", with: "").prefix(12)
            #expect(Int64(hex, radix: 16) == milliseconds)
            #expect(String(hex) >= previousPrefix)
            previousPrefix = String(hex)
            seen.insert(text)
        }
        #expect(seen.count == 5000)
    }
}

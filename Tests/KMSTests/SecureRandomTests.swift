import Foundation
import Testing

@testable import KMS

@Suite("Secure random")
struct SecureRandomTests {
    @Test("event ids are version-4 UUIDs that Foundation parses, and do not repeat")
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
}

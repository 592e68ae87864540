import Crypto
import Testing

@testable import KMS

@Suite("Audit seals")
struct AuditSealerTests {
    @Test("the reused keyed HMAC gives HMAC-SHA256 of every message, also from many tasks at once")
    func matchesHMAC() async throws {
        let key = SymmetricKey(data: (0..<32).map { UInt8($0) })
        let sealer = AuditSealer(key: key)
        let cases = (0..<200).map { index in
            let message = (0..<(index % 90)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            return (message, Array(HMAC<SHA256>.authenticationCode(for: message, using: key)))
        }
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for (message, expected) in cases {
                group.addTask { sealer.authenticationCode(for: message) == expected ? 0 : 1 }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
        #expect(sealer.authenticationCode(for: [1]) != sealer.authenticationCode(for: [2]))
    }
}

import Foundation
import Testing

@testable import DataStore

@Suite("hostile input never crashes, always gives an OperationOutcome")
struct HostileInputTests {
    func expectRejected(_ bytes: [UInt8], _ comment: Comment? = nil) {
        do {
            _ = try FHIRResource.parse(bytes)
            Issue.record("accepted: \(comment?.rawValue ?? "")")
        } catch {
            #expect(!error.outcome.issues.isEmpty)
            #expect(error.outcome.issues.allSatisfy { $0.severity == .error })
        }
    }

    @Test("every truncation of a real resource at each 97th byte is rejected")
    func truncations() throws {
        for type in ["Patient", "Encounter", "DocumentReference"] {
            let resource = try Synthea.lines(type)[0]
            for length in stride(from: 0, to: resource.count, by: 97) {
                self.expectRejected(Array(resource[..<length]), "\(type) cut at \(length)")
            }
        }
    }

    @Test("random bytes and random single-byte corruptions never crash")
    func randomBytes() throws {
        var generator = SplitMix64(seed: 0x5EED)
        for length in [1, 2, 7, 64, 1000, 10_000] {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                self.expectRejected(bytes)
            }
        }
        let patient = try Synthea.lines("Patient")[1]
        for _ in 0..<300 {
            var corrupted = patient
            corrupted[Int.random(in: 0..<corrupted.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            // Some corruptions are still valid JSON and a valid resource; only a crash would fail.
            _ = try? FHIRResource.parse(corrupted)
        }
    }

    @Test("nesting bombs are rejected as too costly")
    func nestingBombs() {
        for bomb in [
            #"{"resourceType":"Basic","x":"# + String(repeating: "[", count: 100_000),
            #"{"resourceType":"Basic","x":"# + String(repeating: #"{"a":"#, count: 50_000),
            String(repeating: "[", count: 2_000_000),
        ] {
            do {
                _ = try FHIRResource.parse(Array(bomb.utf8))
                Issue.record("accepted a nesting bomb")
            } catch {
                #expect(error.outcome.issues.first?.code == .tooCostly)
            }
        }
    }

    @Test("huge strings and documents are rejected as too long before parsing")
    func hugeStrings() {
        let huge = #"{"resourceType":"Basic","text":""# + String(repeating: "A", count: 5 * 1024 * 1024) + #""}"#
        do {
            _ = try FHIRResource.parse(Array(huge.utf8))
            Issue.record("accepted a 5 MiB resource")
        } catch {
            #expect(error.outcome.issues.first?.code == .tooLong)
        }
        // Just under the limit is fine.
        let large = #"{"resourceType":"Basic","text":""# + String(repeating: "A", count: 4 * 1024 * 1024 - 4 * 1024 - 64) + #""}"#
        #expect(throws: Never.self) { try FHIRResource.parse(Array(large.utf8)) }
    }

    @Test("non-UTF-8 inside a real resource is rejected")
    func nonUTF8() throws {
        var patient = try Synthea.lines("Patient")[0]
        let index = patient.firstIndex(of: UInt8(ascii: "M"))!
        patient[index] = 0xC0
        self.expectRejected(patient)
    }
}

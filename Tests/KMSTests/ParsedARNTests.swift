import Testing

@testable import KMS

@Suite("ARN parsing")
struct ParsedARNTests {
    /// The straightforward definition the parser must agree with.
    static func reference(_ string: String) -> [String]? {
        let fields = string.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0] == "arn", !fields[1].isEmpty, !fields[2].isEmpty, !fields[5].isEmpty else { return nil }
        return fields.map(String.init)
    }

    @Test("fields, resources with colons, and every malformed shape agree with splitting on the first five colons")
    func agreesWithSplitting() {
        var inputs = [
            "arn:aws:kms:us-east-1:111122223333:key/1234", "arn:aws:iam::111122223333:role/Admin", "arn:aws:iam::111122223333:root",
            "arn:aws:kms:us-east-1:111122223333:alias/a:b:c", "arn:aws:s3:::bucket", "arn:aws:iam::111122223333:", "arn::iam::1:x",
            "arn:aws::r:a:x", "arn:aws:iam:111122223333:role", "ARN:aws:iam::1:x", "arnx:aws:iam::1:x", "", ":", ":::::", "arn:::::",
            "healthlake.amazonaws.com", "arn:aws:kms:é:111122223333:key/ü", "arn:aws:iam::111122223333:role/with spaces",
        ]
        var random = SplitMix64(seed: 5)
        let alphabet = Array("arn:aws:k1é")
        for _ in 0..<2000 {
            inputs.append(String((0..<Int(random.next() % 24)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }))
        }
        for input in inputs {
            let parsed = ParsedARN(input)
            let expected = Self.reference(input)
            #expect((parsed.map { ["arn", $0.partition, $0.service, $0.region, $0.account, $0.resource] }) == expected, "\(input)")
        }
    }
}

/// The six fields of an ARN: `arn:partition:service:region:account:resource`.
struct ParsedARN: Hashable, Sendable {
    let partition: String
    let service: String
    let region: String
    let account: String
    let resource: String

    /// Splits an ARN; `nil` if the string does not start with `arn:` or has fewer than six fields.
    /// The resource may itself contain `:`.
    init?(_ string: String) {
        let fields = string.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0] == "arn", !fields[1].isEmpty, !fields[2].isEmpty, !fields[5].isEmpty else {
            return nil
        }
        self.partition = String(fields[1])
        self.service = String(fields[2])
        self.region = String(fields[3])
        self.account = String(fields[4])
        self.resource = String(fields[5])
    }
}

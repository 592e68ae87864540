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
        // Several ARNs are parsed on every call (key, caller, policy principals): find the five
        // separating colons without building an array of fields.
        let utf8 = string.utf8
        func colon(after index: String.Index?) -> String.Index? {
            guard let index else { return utf8.firstIndex(of: UInt8(ascii: ":")) }
            return utf8[utf8.index(after: index)...].firstIndex(of: UInt8(ascii: ":"))
        }
        guard let c1 = colon(after: nil), let c2 = colon(after: c1), let c3 = colon(after: c2), let c4 = colon(after: c3),
            let c5 = colon(after: c4), string[..<c1] == "arn"
        else { return nil }
        let partition = string[utf8.index(after: c1)..<c2]
        let service = string[utf8.index(after: c2)..<c3]
        let resource = string[utf8.index(after: c5)...]
        guard !partition.isEmpty, !service.isEmpty, !resource.isEmpty else { return nil }
        self.partition = String(partition)
        self.service = String(service)
        self.region = String(string[utf8.index(after: c3)..<c4])
        self.account = String(string[utf8.index(after: c4)..<c5])
        self.resource = String(resource)
    }
}

/// Helpers for AWS account ids and the ARNs that carry them.
public enum AccountID {
    /// Whether `string` is an AWS account id: exactly 12 ASCII digits.
    public static func isValid(_ string: String) -> Bool {
        string.utf8.count == 12 && string.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The account of an ARN principal such as `arn:aws:iam::111122223333:role/Admin`, or `nil`
    /// for a service principal (`healthlake.amazonaws.com`) or anything else without an account.
    public static func of(principal: String) -> String? {
        guard let arn = ParsedARN(principal), self.isValid(arn.account) else { return nil }
        return arn.account
    }
}

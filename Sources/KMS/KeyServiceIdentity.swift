/// Where this key service says it lives: the partition, region and account in every key ARN.
public struct KeyServiceIdentity: Hashable, Sendable {
    /// The ARN partition, `aws` by default.
    public var partition: String
    /// The region, such as `us-east-1`.
    public var region: String
    /// The account that owns the keys (12 digits).
    public var accountID: String

    /// Creates an identity.
    ///
    /// - Throws: ``KMSError`` `ValidationException` if `accountID` is not 12 digits or a field
    ///   is empty or contains `:`.
    public init(partition: String = "aws", region: String, accountID: String) throws {
        guard AccountID.isValid(accountID) else {
            throw KMSError.validation("account id must be 12 digits")
        }
        for field in [partition, region] where field.isEmpty || field.contains(":") {
            throw KMSError.validation("partition and region must be non-empty and contain no ':'")
        }
        self.partition = partition
        self.region = region
        self.accountID = accountID
    }

    /// The ARN of a key: `arn:<partition>:kms:<region>:<account>:key/<id>`.
    public func keyARN(_ keyID: KeyID) -> String {
        "arn:\(self.partition):kms:\(self.region):\(self.accountID):key/\(keyID)"
    }

    /// The ARN of an alias: `arn:<partition>:kms:<region>:<account>:alias/<name>`.
    public func aliasARN(_ aliasName: String) -> String {
        "arn:\(self.partition):kms:\(self.region):\(self.accountID):\(aliasName)"
    }
}

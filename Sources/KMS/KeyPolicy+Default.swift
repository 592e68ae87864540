extension KeyPolicy {
    /// The policy a key gets when its creator supplies none: the account root may do everything.
    ///
    /// With ``PolicyEvaluationSettings/accountRootGrantsAccountPrincipals`` off (the default)
    /// that means the principal `arn:<partition>:iam::<account>:root` itself, the key
    /// administrator identity, and no one else in the account.
    ///
    /// - Precondition: `accountID` is a valid account id (12 digits).
    public static func defaultPolicy(accountID: String, partition: String = "aws") -> KeyPolicy {
        precondition(AccountID.isValid(accountID), "account ids are 12 digits")
        let document = """
            {
              "Version": "2012-10-17",
              "Id": "key-default-1",
              "Statement": [
                {
                  "Sid": "Enable IAM User Permissions",
                  "Effect": "Allow",
                  "Principal": {"AWS": "arn:\(partition):iam::\(accountID):root"},
                  "Action": "kms:*",
                  "Resource": "*"
                }
              ]
            }
            """
        do {
            return try KeyPolicy(parsing: document)
        } catch {
            preconditionFailure("the default key policy must parse: \(error)")
        }
    }
}

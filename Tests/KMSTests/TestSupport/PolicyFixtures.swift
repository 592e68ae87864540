@testable import KMS

/// Policies, principals and ARNs shared by the policy tests.
enum PolicyFixtures {
    static let account = "111122223333"
    static let otherAccount = "444455556666"
    static let root = "arn:aws:iam::111122223333:root"
    static let healthLakeRole = "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"
    static let adminRole = "arn:aws:iam::111122223333:role/Admin"
    static let healthLake = "healthlake.amazonaws.com"
    static let keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    static let otherKeyARN = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000"

    /// The statement printed in the seed document, verbatim, plus the usual root statement.
    static let seedPolicy = """
        {
          "Version": "2012-10-17",
          "Statement": [
            {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
            {
              "Sid": "Allow access through Amazon HealthLake for all principals in the account that are authorized to use Amazon HealthLake",
              "Effect": "Allow",
              "Principal": {"AWS": "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"},
              "Action": ["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:CreateGrant","kms:DescribeKey"],
              "Resource": "*",
              "Condition": {"StringEquals": {"kms:ViaService": "healthlake.amazonaws.com", "kms:CallerAccount": "111122223333"}}
            }
          ]
        }
        """

    static let rootSid = "Enable IAM User Permissions"
    static let healthLakeSid =
        "Allow access through Amazon HealthLake for all principals in the account that are authorized to use Amazon HealthLake"

    /// A one-statement policy around `statement` (a JSON object body).
    static func policy(_ statements: String...) -> String {
        #"{"Version":"2012-10-17","Statement":[\#(statements.joined(separator: ","))]}"#
    }

    static func request(
        _ principal: String,
        _ action: String,
        resource: String = keyARN,
        via: String? = nil,
        context: EncryptionContext = [:],
        grantOperations: [String]? = nil,
        grantIsForAWSResource: Bool? = nil,
        grantee: String? = nil,
        retiring: String? = nil
    ) -> PolicyRequestContext {
        PolicyRequestContext(
            principal: principal,
            action: action,
            resource: resource,
            viaService: via,
            encryptionContext: context,
            grantOperations: grantOperations,
            grantIsForAWSResource: grantIsForAWSResource,
            granteePrincipal: grantee,
            retiringPrincipal: retiring
        )
    }
}

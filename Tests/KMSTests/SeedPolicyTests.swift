import Testing

@testable import KMS

/// The seed document's demonstration: the HealthLake role may use the key through HealthLake and
/// not directly.
@Suite("Seed key policy")
struct SeedPolicyTests {
    typealias F = PolicyFixtures

    struct Row: Sendable, CustomStringConvertible {
        let name: String
        let request: PolicyRequestContext
        let expected: PolicyDecision
        var description: String { self.name }
    }

    static let rows: [Row] = [
        Row(name: "role calls GenerateDataKey directly", request: F.request(F.healthLakeRole, "kms:GenerateDataKey"), expected: .implicitlyDenied),
        Row(name: "role calls Decrypt directly", request: F.request(F.healthLakeRole, "kms:Decrypt"), expected: .implicitlyDenied),
        Row(name: "role calls DescribeKey directly", request: F.request(F.healthLakeRole, "kms:DescribeKey"), expected: .implicitlyDenied),
        Row(name: "role GenerateDataKey via HealthLake", request: F.request(F.healthLakeRole, "kms:GenerateDataKey", via: F.healthLake), expected: .allowed(statementID: F.healthLakeSid)),
        Row(name: "role GenerateDataKeyWithoutPlaintext via HealthLake", request: F.request(F.healthLakeRole, "kms:GenerateDataKeyWithoutPlaintext", via: F.healthLake), expected: .allowed(statementID: F.healthLakeSid)),
        Row(name: "role Decrypt via HealthLake", request: F.request(F.healthLakeRole, "kms:Decrypt", via: F.healthLake), expected: .allowed(statementID: F.healthLakeSid)),
        Row(name: "role Encrypt via HealthLake", request: F.request(F.healthLakeRole, "kms:Encrypt", via: F.healthLake), expected: .allowed(statementID: F.healthLakeSid)),
        Row(name: "role ReEncryptFrom via HealthLake", request: F.request(F.healthLakeRole, "kms:ReEncryptFrom", via: F.healthLake), expected: .allowed(statementID: F.healthLakeSid)),
        Row(name: "role CreateGrant via HealthLake", request: F.request(F.healthLakeRole, "kms:CreateGrant", via: F.healthLake), expected: .allowed(statementID: F.healthLakeSid)),
        Row(name: "role DescribeKey via HealthLake", request: F.request(F.healthLakeRole, "kms:DescribeKey", via: F.healthLake), expected: .allowed(statementID: F.healthLakeSid)),
        Row(name: "action names are case-insensitive", request: F.request(F.healthLakeRole, "KMS:decrypt", via: F.healthLake), expected: .allowed(statementID: F.healthLakeSid)),
        Row(name: "role ScheduleKeyDeletion via HealthLake is not listed", request: F.request(F.healthLakeRole, "kms:ScheduleKeyDeletion", via: F.healthLake), expected: .implicitlyDenied),
        Row(name: "role RevokeGrant via HealthLake is not listed", request: F.request(F.healthLakeRole, "kms:RevokeGrant", via: F.healthLake), expected: .implicitlyDenied),
        Row(name: "role via another service", request: F.request(F.healthLakeRole, "kms:Decrypt", via: "s3.amazonaws.com"), expected: .implicitlyDenied),
        Row(name: "ViaService is case-sensitive under StringEquals", request: F.request(F.healthLakeRole, "kms:Decrypt", via: "HealthLake.amazonaws.com"), expected: .implicitlyDenied),
        Row(name: "another role of the account via HealthLake", request: F.request(F.adminRole, "kms:Decrypt", via: F.healthLake), expected: .implicitlyDenied),
        Row(name: "same role name in another account via HealthLake", request: F.request("arn:aws:iam::444455556666:role/HealthLakeFullAccessRole", "kms:Decrypt", via: F.healthLake), expected: .implicitlyDenied),
        Row(name: "the service principal itself", request: F.request(F.healthLake, "kms:Decrypt"), expected: .implicitlyDenied),
        Row(name: "account root manages the key", request: F.request(F.root, "kms:ScheduleKeyDeletion"), expected: .allowed(statementID: F.rootSid)),
        Row(name: "account root encrypts directly", request: F.request(F.root, "kms:GenerateDataKey"), expected: .allowed(statementID: F.rootSid)),
        Row(name: "another account's root", request: F.request("arn:aws:iam::444455556666:root", "kms:Decrypt"), expected: .implicitlyDenied),
    ]

    @Test("decisions under the default settings", arguments: Self.rows)
    func decisions(row: Row) throws {
        let policy = try KeyPolicy(parsing: F.seedPolicy)
        #expect(PolicyEvaluator().evaluate(policy, for: row.request) == row.expected)
    }

    @Test("with accountRootGrantsAccountPrincipals the root statement lets every account principal in directly")
    func accountRootDelegation() throws {
        let policy = try KeyPolicy(parsing: F.seedPolicy)
        let evaluator = PolicyEvaluator(settings: PolicyEvaluationSettings(accountRootGrantsAccountPrincipals: true))
        #expect(evaluator.evaluate(policy, for: F.request(F.healthLakeRole, "kms:GenerateDataKey")) == .allowed(statementID: F.rootSid))
        #expect(evaluator.evaluate(policy, for: F.request(F.adminRole, "kms:ScheduleKeyDeletion")) == .allowed(statementID: F.rootSid))
        #expect(evaluator.evaluate(policy, for: F.request("arn:aws:iam::444455556666:role/X", "kms:Decrypt")) == .implicitlyDenied)
        #expect(evaluator.evaluate(policy, for: F.request(F.healthLake, "kms:Decrypt")) == .implicitlyDenied)
    }

    @Test("the parsed seed statement has the expected shape")
    func parsedShape() throws {
        let policy = try KeyPolicy(parsing: F.seedPolicy)
        #expect(policy.statements.count == 2)
        #expect(policy.document == F.seedPolicy)
        let statement = policy.statements[1]
        #expect(statement.sid == F.healthLakeSid)
        #expect(statement.principals.aws == [.arn(F.healthLakeRole)])
        #expect(statement.conditions.count == 2)
        #expect(statement.conditions.map(\.key).contains(.viaService))
        #expect(policy.statements[0].principals.aws == [.accountRoot(accountID: F.account)])
    }

    @Test("the default key policy lets only the account root in")
    func defaultPolicy() {
        let policy = KeyPolicy.defaultPolicy(accountID: F.account)
        let evaluator = PolicyEvaluator()
        #expect(evaluator.evaluate(policy, for: F.request(F.root, "kms:PutKeyPolicy")).isAllowed)
        #expect(evaluator.evaluate(policy, for: F.request(F.adminRole, "kms:Decrypt")) == .implicitlyDenied)
        #expect(evaluator.evaluate(policy, for: F.request(F.healthLakeRole, "kms:Decrypt", via: F.healthLake)) == .implicitlyDenied)
    }
}

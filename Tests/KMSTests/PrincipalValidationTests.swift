import Testing

@testable import KMS

/// Principals in key policies are validated as AWS validates them, and an assumed-role session
/// matches a statement naming its role, as in IAM.
@Suite("Key policy principals")
struct PrincipalValidationTests {
    typealias F = PolicyFixtures

    static func statement(principal: String) -> String {
        F.policy(#"{"Sid":"s","Effect":"Allow","Principal":{"AWS":"\#(principal)"},"Action":"kms:Decrypt","Resource":"*"}"#)
    }

    @Test(
        "invalid principals are refused with MalformedPolicyDocumentException naming the principal and why",
        arguments: [
            ("arn:aws:iam::111122223333:HealthLakeFullAccessRole", "did you mean role/HealthLakeFullAccessRole"),
            ("arn:aws:iam::111122223333:role/", "role/ must be followed by a name"),
            ("arn:aws:iam::111122223333:user", "user/ must be followed by a name"),
            ("arn:aws:iam::111122223333:group/Admins", "an IAM principal is root, user/NAME or role/NAME"),
            ("arn:aws:iam::111122223333:role/bad name", "role/ must be followed by a name"),
            ("arn:aws:sts::111122223333:assumed-role/Role", "assumed-role/ROLE/SESSION"),
            ("arn:aws:sts::111122223333:role/Role", "an STS principal is"),
        ])
    func invalid(principal: String, reason: String) throws {
        let error = #expect(throws: KMSError.self) { try KeyPolicy(parsing: Self.statement(principal: principal)) }
        #expect(error?.code == .malformedPolicyDocument)
        #expect(error?.message.contains(principal) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
    }

    @Test(
        "valid principals parse",
        arguments: [
            "arn:aws:iam::111122223333:root", "111122223333", "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole",
            "arn:aws:iam::111122223333:role/service-role/path/Name_1", "arn:aws:iam::111122223333:user/alice@example.com",
            "arn:aws:sts::111122223333:assumed-role/HealthLakeFullAccessRole/session-1",
            "arn:aws:sts::111122223333:federated-user/bob",
        ])
    func valid(principal: String) throws {
        _ = try KeyPolicy(parsing: Self.statement(principal: principal))
    }

    @Test("an assumed-role session matches a statement naming its role (with or without a path), not another role or account")
    func sessions() throws {
        let evaluator = PolicyEvaluator()
        let role = try KeyPolicy(parsing: Self.statement(principal: "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"))
        let pathed = try KeyPolicy(parsing: Self.statement(principal: "arn:aws:iam::111122223333:role/team/HealthLakeFullAccessRole"))
        let session = "arn:aws:sts::111122223333:assumed-role/HealthLakeFullAccessRole/alice"
        #expect(evaluator.evaluate(role, for: F.request(session, "kms:Decrypt")) == .allowed(statementID: "s"))
        #expect(evaluator.evaluate(pathed, for: F.request(session, "kms:Decrypt")) == .allowed(statementID: "s"))
        for other in [
            "arn:aws:sts::111122223333:assumed-role/OtherRole/alice", "arn:aws:sts::444455556666:assumed-role/HealthLakeFullAccessRole/alice",
            "arn:aws:sts::111122223333:assumed-role/HealthLakeFullAccessRole", "arn:aws:iam::111122223333:user/HealthLakeFullAccessRole",
        ] {
            #expect(evaluator.evaluate(role, for: F.request(other, "kms:Decrypt")) != .allowed(statementID: "s"), "\(other)")
        }
        // A statement naming a session does not match the role itself or another session.
        let named = try KeyPolicy(parsing: Self.statement(principal: session))
        #expect(evaluator.evaluate(named, for: F.request(session, "kms:Decrypt")) == .allowed(statementID: "s"))
        #expect(evaluator.evaluate(named, for: F.request("arn:aws:iam::111122223333:role/HealthLakeFullAccessRole", "kms:Decrypt")) != .allowed(statementID: "s"))
    }
}

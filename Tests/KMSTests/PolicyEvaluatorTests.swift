import Testing

@testable import KMS

@Suite("PolicyEvaluator")
struct PolicyEvaluatorTests {
    typealias F = PolicyFixtures

    func decide(_ document: String, _ request: PolicyRequestContext) throws -> PolicyDecision {
        PolicyEvaluator().evaluate(try KeyPolicy(parsing: document), for: request)
    }

    @Test("an explicit deny overrides any allow, whatever the statement order")
    func explicitDenyWins() throws {
        let allowAll = #"{"Sid":"root","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}"#
        let denyDeletion = #"{"Sid":"no-delete","Effect":"Deny","Principal":"*","Action":["kms:ScheduleKeyDeletion","kms:Disable*"],"Resource":"*"}"#
        for document in [F.policy(allowAll, denyDeletion), F.policy(denyDeletion, allowAll)] {
            #expect(try self.decide(document, F.request(F.root, "kms:ScheduleKeyDeletion")) == .explicitlyDenied(statementID: "no-delete"))
            #expect(try self.decide(document, F.request(F.root, "kms:DisableKey")) == .explicitlyDenied(statementID: "no-delete"))
            #expect(try self.decide(document, F.request(F.root, "kms:Decrypt")) == .allowed(statementID: "root"))
        }
    }

    @Test("a conditional deny applies only when its condition holds")
    func conditionalDeny() throws {
        let document = F.policy(
            #"{"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#,
            #"{"Sid":"only-via-healthlake","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringNotEquals":{"kms:ViaService":"healthlake.amazonaws.com"}}}"#
        )
        // Absent ViaService: a negated operator holds, so the deny applies.
        #expect(try self.decide(document, F.request(F.root, "kms:Decrypt")) == .explicitlyDenied(statementID: "only-via-healthlake"))
        #expect(try self.decide(document, F.request(F.root, "kms:Decrypt", via: "s3.amazonaws.com")) == .explicitlyDenied(statementID: "only-via-healthlake"))
        #expect(try self.decide(document, F.request(F.root, "kms:Decrypt", via: F.healthLake)) == .allowed(statementID: "root"))
    }

    struct PrincipalRow: Sendable, CustomStringConvertible {
        let principalJSON: String
        let caller: String
        let allowed: Bool
        var description: String { "\(self.principalJSON) vs \(self.caller)" }
    }

    static let principalRows: [PrincipalRow] = [
        PrincipalRow(principalJSON: #""*""#, caller: F.adminRole, allowed: true),
        PrincipalRow(principalJSON: #""*""#, caller: F.healthLake, allowed: true),
        PrincipalRow(principalJSON: #"{"AWS":"*"}"#, caller: "arn:aws:iam::444455556666:user/x", allowed: true),
        PrincipalRow(principalJSON: #"{"AWS":"111122223333"}"#, caller: F.root, allowed: true),
        PrincipalRow(principalJSON: #"{"AWS":"111122223333"}"#, caller: F.adminRole, allowed: false),
        PrincipalRow(principalJSON: #"{"AWS":"arn:aws:iam::111122223333:root"}"#, caller: F.adminRole, allowed: false),
        PrincipalRow(principalJSON: #"{"AWS":["arn:aws:iam::444455556666:root","arn:aws:iam::111122223333:role/Admin"]}"#, caller: F.adminRole, allowed: true),
        PrincipalRow(principalJSON: #"{"AWS":"arn:aws:iam::111122223333:role/Admin"}"#, caller: "arn:aws:iam::111122223333:role/Admin2", allowed: false),
        PrincipalRow(principalJSON: #"{"AWS":"arn:aws:iam::111122223333:role/Admin"}"#, caller: "arn:aws:iam::111122223333:role/admin", allowed: false),
        PrincipalRow(principalJSON: #"{"Service":"healthlake.amazonaws.com"}"#, caller: F.healthLake, allowed: true),
        PrincipalRow(principalJSON: #"{"Service":["s3.amazonaws.com"]}"#, caller: F.healthLake, allowed: false),
        PrincipalRow(principalJSON: #"{"Service":"healthlake.amazonaws.com"}"#, caller: F.healthLakeRole, allowed: false),
        PrincipalRow(principalJSON: #"{"AWS":"arn:aws:iam::111122223333:role/Admin","Service":"healthlake.amazonaws.com"}"#, caller: F.healthLake, allowed: true),
    ]

    @Test("principal matching", arguments: Self.principalRows)
    func principals(row: PrincipalRow) throws {
        let document = F.policy(#"{"Effect":"Allow","Principal":\#(row.principalJSON),"Action":"kms:Decrypt","Resource":"*"}"#)
        #expect(try self.decide(document, F.request(row.caller, "kms:Decrypt")).isAllowed == row.allowed)
    }

    @Test("action wildcards and resources")
    func actionsAndResources() throws {
        let document = F.policy(
            #"{"Effect":"Allow","Principal":"*","Action":["kms:Generate*","kms:?escribeKey"],"Resource":"\#(F.keyARN)"}"#
        )
        #expect(try self.decide(document, F.request(F.adminRole, "kms:GenerateDataKey")).isAllowed)
        #expect(try self.decide(document, F.request(F.adminRole, "kms:GenerateRandom")).isAllowed)
        #expect(try self.decide(document, F.request(F.adminRole, "kms:DescribeKey")).isAllowed)
        #expect(try !self.decide(document, F.request(F.adminRole, "kms:Decrypt")).isAllowed)
        #expect(try !self.decide(document, F.request(F.adminRole, "kms:GenerateDataKey", resource: F.otherKeyARN)).isAllowed)
        let anyAction = F.policy(#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:kms:us-east-1:111122223333:key/*"}"#)
        #expect(try self.decide(anyAction, F.request(F.adminRole, "kms:PutKeyPolicy", resource: F.otherKeyARN)).isAllowed)
        #expect(try !self.decide(anyAction, F.request(F.adminRole, "kms:PutKeyPolicy", resource: "arn:aws:kms:eu-west-1:111122223333:key/x")).isAllowed)
        let otherService = F.policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}"#)
        #expect(try !self.decide(otherService, F.request(F.adminRole, "kms:Decrypt")).isAllowed)
    }

    struct ConditionRow: Sendable, CustomStringConvertible {
        let name: String
        let condition: String
        let request: PolicyRequestContext
        let holds: Bool
        var description: String { self.name }
    }

    static let conditionRows: [ConditionRow] = [
        // StringEquals / StringNotEquals and absent keys.
        ConditionRow(name: "StringEquals any of several values", condition: #"{"StringEquals":{"kms:ViaService":["s3.amazonaws.com","healthlake.amazonaws.com"]}}"#, request: F.request(F.adminRole, "kms:Decrypt", via: F.healthLake), holds: true),
        ConditionRow(name: "StringEquals absent key fails", condition: #"{"StringEquals":{"kms:ViaService":"healthlake.amazonaws.com"}}"#, request: F.request(F.adminRole, "kms:Decrypt"), holds: false),
        ConditionRow(name: "StringEqualsIfExists absent key holds", condition: #"{"StringEqualsIfExists":{"kms:ViaService":"healthlake.amazonaws.com"}}"#, request: F.request(F.adminRole, "kms:Decrypt"), holds: true),
        ConditionRow(name: "StringEqualsIfExists present mismatch fails", condition: #"{"StringEqualsIfExists":{"kms:ViaService":"healthlake.amazonaws.com"}}"#, request: F.request(F.adminRole, "kms:Decrypt", via: "s3.amazonaws.com"), holds: false),
        ConditionRow(name: "StringNotEquals present other value holds", condition: #"{"StringNotEquals":{"kms:ViaService":"healthlake.amazonaws.com"}}"#, request: F.request(F.adminRole, "kms:Decrypt", via: "s3.amazonaws.com"), holds: true),
        ConditionRow(name: "StringNotEquals present listed value fails", condition: #"{"StringNotEquals":{"kms:ViaService":["a.amazonaws.com","healthlake.amazonaws.com"]}}"#, request: F.request(F.adminRole, "kms:Decrypt", via: F.healthLake), holds: false),
        ConditionRow(name: "StringNotEquals absent key holds", condition: #"{"StringNotEquals":{"kms:ViaService":"healthlake.amazonaws.com"}}"#, request: F.request(F.adminRole, "kms:Decrypt"), holds: true),
        ConditionRow(name: "StringEqualsIgnoreCase", condition: #"{"StringEqualsIgnoreCase":{"kms:EncryptionContext:Department":"ONCOLOGY"}}"#, request: F.request(F.adminRole, "kms:Decrypt", context: ["Department": "oncology"]), holds: true),
        ConditionRow(name: "StringEquals on context value is case-sensitive", condition: #"{"StringEquals":{"kms:EncryptionContext:Department":"ONCOLOGY"}}"#, request: F.request(F.adminRole, "kms:Decrypt", context: ["Department": "oncology"]), holds: false),
        ConditionRow(name: "context key part of the condition key is case-insensitive", condition: #"{"StringEquals":{"kms:encryptioncontext:department":"oncology"}}"#, request: F.request(F.adminRole, "kms:Decrypt", context: ["Department": "oncology"]), holds: true),
        ConditionRow(name: "CallerAccount parsed from the ARN", condition: #"{"StringEquals":{"kms:CallerAccount":"111122223333"}}"#, request: F.request(F.adminRole, "kms:Decrypt"), holds: true),
        ConditionRow(name: "CallerAccount other account", condition: #"{"StringEquals":{"kms:CallerAccount":"111122223333"}}"#, request: F.request("arn:aws:iam::444455556666:role/Admin", "kms:Decrypt"), holds: false),
        ConditionRow(name: "CallerAccount absent for a service principal", condition: #"{"StringEquals":{"kms:CallerAccount":"111122223333"}}"#, request: F.request(F.healthLake, "kms:Decrypt"), holds: false),
        ConditionRow(name: "aws:PrincipalArn StringLike", condition: #"{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Health*"}}"#, request: F.request(F.healthLakeRole, "kms:Decrypt"), holds: true),
        // StringLike / StringNotLike.
        ConditionRow(name: "StringLike with * and ?", condition: #"{"StringLike":{"kms:EncryptionContext:datastore":"ds-?-*"}}"#, request: F.request(F.adminRole, "kms:Decrypt", context: ["datastore": "ds-1-abc"]), holds: true),
        ConditionRow(name: "StringLike no match", condition: #"{"StringLike":{"kms:EncryptionContext:datastore":"ds-?-*"}}"#, request: F.request(F.adminRole, "kms:Decrypt", context: ["datastore": "ds-12-abc"]), holds: false),
        ConditionRow(name: "StringNotLike matching value fails", condition: #"{"StringNotLike":{"kms:EncryptionContext:datastore":"ds-*"}}"#, request: F.request(F.adminRole, "kms:Decrypt", context: ["datastore": "ds-1"]), holds: false),
        ConditionRow(name: "StringNotLike absent holds", condition: #"{"StringNotLike":{"kms:EncryptionContext:datastore":"ds-*"}}"#, request: F.request(F.adminRole, "kms:Decrypt"), holds: true),
        // Multi-valued keys.
        ConditionRow(name: "ForAllValues EncryptionContextKeys subset holds", condition: #"{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["datastore","resourceType","id"]}}"#, request: F.request(F.adminRole, "kms:Decrypt", context: ["datastore": "1", "id": "2"]), holds: true),
        ConditionRow(name: "ForAllValues EncryptionContextKeys extra key fails", condition: #"{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["datastore"]}}"#, request: F.request(F.adminRole, "kms:Decrypt", context: ["datastore": "1", "other": "2"]), holds: false),
        ConditionRow(name: "ForAllValues absent key holds (vacuous)", condition: #"{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["datastore"]}}"#, request: F.request(F.adminRole, "kms:Decrypt"), holds: true),
        ConditionRow(name: "ForAnyValue EncryptionContextKeys one present holds", condition: #"{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["datastore"]}}"#, request: F.request(F.adminRole, "kms:Decrypt", context: ["datastore": "1", "other": "2"]), holds: true),
        ConditionRow(name: "ForAnyValue absent key fails", condition: #"{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["datastore"]}}"#, request: F.request(F.adminRole, "kms:Decrypt"), holds: false),
        ConditionRow(name: "ForAnyValue:StringEqualsIfExists absent holds", condition: #"{"ForAnyValue:StringEqualsIfExists":{"kms:EncryptionContextKeys":["datastore"]}}"#, request: F.request(F.adminRole, "kms:Decrypt"), holds: true),
        ConditionRow(name: "ForAllValues GrantOperations within the allowed set", condition: #"{"ForAllValues:StringEquals":{"kms:GrantOperations":["Decrypt","GenerateDataKey","RetireGrant"]}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant", grantOperations: ["Decrypt", "GenerateDataKey"]), holds: true),
        ConditionRow(name: "ForAllValues GrantOperations asks for more", condition: #"{"ForAllValues:StringEquals":{"kms:GrantOperations":["Decrypt"]}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant", grantOperations: ["Decrypt", "CreateGrant"]), holds: false),
        ConditionRow(name: "ForAnyValue:StringLike GrantOperations", condition: #"{"ForAnyValue:StringLike":{"kms:GrantOperations":"Generate*"}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant", grantOperations: ["Decrypt", "GenerateDataKey"]), holds: true),
        ConditionRow(name: "ForAllValues:StringNotEquals GrantOperations excludes CreateGrant", condition: #"{"ForAllValues:StringNotEquals":{"kms:GrantOperations":"CreateGrant"}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant", grantOperations: ["Decrypt", "CreateGrant"]), holds: false),
        // Bool and grant keys.
        ConditionRow(name: "Bool GrantIsForAWSResource true", condition: #"{"Bool":{"kms:GrantIsForAWSResource":true}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant", grantIsForAWSResource: true), holds: true),
        ConditionRow(name: "Bool GrantIsForAWSResource string false vs true", condition: #"{"Bool":{"kms:GrantIsForAWSResource":"false"}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant", grantIsForAWSResource: true), holds: false),
        ConditionRow(name: "Bool absent fails", condition: #"{"Bool":{"kms:GrantIsForAWSResource":"true"}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant"), holds: false),
        ConditionRow(name: "BoolIfExists absent holds", condition: #"{"BoolIfExists":{"kms:GrantIsForAWSResource":"true"}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant"), holds: true),
        ConditionRow(name: "GranteePrincipal StringEquals", condition: #"{"StringEquals":{"kms:GranteePrincipal":"healthlake.amazonaws.com"}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant", grantee: F.healthLake), holds: true),
        ConditionRow(name: "RetiringPrincipal StringLike", condition: #"{"StringLike":{"kms:RetiringPrincipal":"arn:aws:iam::111122223333:role/*"}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant", retiring: F.adminRole), holds: true),
        ConditionRow(name: "RetiringPrincipal absent fails", condition: #"{"StringLike":{"kms:RetiringPrincipal":"*"}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant"), holds: false),
        // Several operators and keys are ANDed.
        ConditionRow(name: "all conditions must hold", condition: #"{"StringEquals":{"kms:ViaService":"healthlake.amazonaws.com","kms:CallerAccount":"111122223333"},"Bool":{"kms:GrantIsForAWSResource":"true"}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant", via: F.healthLake), holds: false),
        ConditionRow(name: "all conditions hold", condition: #"{"StringEquals":{"kms:ViaService":"healthlake.amazonaws.com","kms:CallerAccount":"111122223333"},"Bool":{"kms:GrantIsForAWSResource":"true"}}"#, request: F.request(F.healthLakeRole, "kms:CreateGrant", via: F.healthLake, grantIsForAWSResource: true), holds: true),
    ]

    @Test("condition operators, qualifiers and keys", arguments: Self.conditionRows)
    func conditions(row: ConditionRow) throws {
        let document = F.policy(#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":\#(row.condition)}"#)
        #expect(try self.decide(document, row.request).isAllowed == row.holds)
    }

    @Test("wildcard matching is linear-ish on hostile patterns")
    func hostileWildcards() {
        let pattern = WildcardPattern(String(repeating: "*a", count: 200) + "b", caseInsensitive: false)
        #expect(!pattern.matches(String(repeating: "a", count: 4000)))
        #expect(WildcardPattern("a*b?c", caseInsensitive: false).matches("aXXbYc"))
        #expect(!WildcardPattern("a*b?c", caseInsensitive: false).matches("aXXbc"))
        #expect(WildcardPattern("*", caseInsensitive: false).matches(""))
        #expect(!WildcardPattern("?", caseInsensitive: false).matches(""))
        #expect(WildcardPattern("KMS:Gen*", caseInsensitive: true).matches("kms:generatedatakey"))
    }
}

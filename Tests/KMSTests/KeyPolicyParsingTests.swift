import Foundation
import Testing

@testable import KMS

@Suite("KeyPolicy parsing")
struct KeyPolicyParsingTests {
    typealias F = PolicyFixtures

    static let valid = #"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#

    struct MalformedRow: Sendable, CustomStringConvertible {
        let document: String
        let messageContains: String
        var description: String { self.messageContains + " ← " + String(self.document.prefix(60)) }
    }

    static func statement(replacing name: String, with json: String?) -> String {
        var members = [
            "Effect": #""Allow""#, "Principal": #""*""#, "Action": #""kms:Decrypt""#, "Resource": #""*""#,
        ]
        members[name] = json
        let body = members.sorted { $0.key < $1.key }.map { #""\#($0.key)":\#($0.value)"# }.joined(separator: ",")
        return F.policy("{\(body)}")
    }

    static let malformedRows: [MalformedRow] = [
        // Not JSON, or not the right JSON.
        MalformedRow(document: "", messageContains: "not valid JSON at byte 0"),
        MalformedRow(document: "   ", messageContains: "not valid JSON"),
        MalformedRow(document: "policy", messageContains: "not valid JSON"),
        MalformedRow(document: "[]", messageContains: "must be a JSON object"),
        MalformedRow(document: #""Statement""#, messageContains: "must be a JSON object"),
        MalformedRow(document: "{}", messageContains: "Statement: required element is missing"),
        MalformedRow(document: #"{"Statement":[]}"#, messageContains: "Statement: must contain at least one statement"),
        MalformedRow(document: #"{"Statement":"x"}"#, messageContains: "Statement: must be an object or an array"),
        MalformedRow(document: #"{"Statement":[1]}"#, messageContains: "Statement[0]: a statement must be an object"),
        MalformedRow(document: #"{"Statement":[\#(valid)]} x"#, messageContains: "unexpected content after the JSON value"),
        MalformedRow(document: #"{"Statement":[\#(valid)],}"#, messageContains: "expected a member name"),
        MalformedRow(document: #"{"Statement":[\#(valid),]}"#, messageContains: "unexpected character"),
        MalformedRow(document: #"{"Version":"2020-01-01","Statement":[\#(valid)]}"#, messageContains: "Version: unsupported policy version"),
        MalformedRow(document: #"{"Version":20121017,"Statement":[\#(valid)]}"#, messageContains: "Version: must be a string"),
        MalformedRow(document: #"{"Statements":[\#(valid)]}"#, messageContains: "Statements: unknown top-level element"),
        // Duplicate members: two Effects must not mean whichever one wins.
        MalformedRow(document: #"{"Statement":[{"Effect":"Deny","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}"#, messageContains: "duplicate member name 'Effect'"),
        MalformedRow(document: F.policy(valid.replacingOccurrences(of: "{", with: #"{"Sid":"a","#), valid.replacingOccurrences(of: "{", with: #"{"Sid":"a","#)), messageContains: "Statement[1].Sid: duplicate statement id 'a'"),
        // Effect.
        MalformedRow(document: statement(replacing: "Effect", with: nil), messageContains: "Statement[0].Effect: required element is missing"),
        MalformedRow(document: statement(replacing: "Effect", with: #""allow""#), messageContains: "Statement[0].Effect: must be \"Allow\" or \"Deny\""),
        MalformedRow(document: statement(replacing: "Effect", with: "true"), messageContains: "Statement[0].Effect: must be a string"),
        // Principal.
        MalformedRow(document: statement(replacing: "Principal", with: nil), messageContains: "Statement[0].Principal: required element is missing"),
        MalformedRow(document: statement(replacing: "Principal", with: #""arn:aws:iam::111122223333:root""#), messageContains: "Statement[0].Principal: must be \"*\" or an object"),
        MalformedRow(document: statement(replacing: "Principal", with: "{}"), messageContains: "Statement[0].Principal: must name at least one principal"),
        MalformedRow(document: statement(replacing: "Principal", with: #"{"AWS":[]}"#), messageContains: "Statement[0].Principal.AWS: must list at least one value"),
        MalformedRow(document: statement(replacing: "Principal", with: #"{"AWS":"bob"}"#), messageContains: "Statement[0].Principal.AWS: 'bob' is not an account id"),
        MalformedRow(document: statement(replacing: "Principal", with: #"{"AWS":["111122223333","arn:aws:iam::*:role/x"]}"#), messageContains: "Statement[0].Principal.AWS[1]: wildcards are only allowed"),
        MalformedRow(document: statement(replacing: "Principal", with: #"{"AWS":"arn:aws:iam::12345:role/x"}"#), messageContains: "Principal.AWS: 'arn:aws:iam::12345:role/x' is not an account id"),
        MalformedRow(document: statement(replacing: "Principal", with: #"{"AWS":"arn:aws:s3:::bucket"}"#), messageContains: "is not an account id or an IAM principal ARN"),
        MalformedRow(document: statement(replacing: "Principal", with: #"{"Service":"*"}"#), messageContains: "Statement[0].Principal.Service: '*' is not a service principal"),
        MalformedRow(document: statement(replacing: "Principal", with: #"{"Federated":"cognito-identity.amazonaws.com"}"#), messageContains: "Statement[0].Principal.Federated: principal type is not supported"),
        MalformedRow(document: statement(replacing: "Principal", with: #"{"Aws":"*"}"#), messageContains: "Statement[0].Principal.Aws: unknown principal type"),
        MalformedRow(document: statement(replacing: "Principal", with: #"{"AWS":{"x":1}}"#), messageContains: "Statement[0].Principal.AWS: must be a string or an array of strings"),
        // Action and Resource.
        MalformedRow(document: statement(replacing: "Action", with: nil), messageContains: "Statement[0].Action: required element is missing"),
        MalformedRow(document: statement(replacing: "Action", with: "[]"), messageContains: "Statement[0].Action: must list at least one value"),
        MalformedRow(document: statement(replacing: "Action", with: #"["kms:Decrypt","Encrypt"]"#), messageContains: "Statement[0].Action[1]: 'Encrypt' is not an action"),
        MalformedRow(document: statement(replacing: "Action", with: #""kms:""#), messageContains: "Statement[0].Action: 'kms:' is not an action"),
        MalformedRow(document: statement(replacing: "Action", with: #""kms:Decrypt Encrypt""#), messageContains: "is not an action"),
        MalformedRow(document: statement(replacing: "Action", with: #"["kms:Decrypt",7]"#), messageContains: "Statement[0].Action[1]: must be a string, not a number"),
        MalformedRow(document: statement(replacing: "Resource", with: nil), messageContains: "Statement[0].Resource: required element is missing"),
        MalformedRow(document: statement(replacing: "Resource", with: #""key/1234""#), messageContains: "Statement[0].Resource: 'key/1234' is neither \"*\" nor an ARN"),
        MalformedRow(document: statement(replacing: "Resource", with: "null"), messageContains: "Statement[0].Resource: must be a string or an array of strings, not null"),
        // Unsupported and unknown elements.
        MalformedRow(document: statement(replacing: "NotAction", with: #""kms:Decrypt""#), messageContains: "Statement[0].NotAction: element is not supported"),
        MalformedRow(document: statement(replacing: "NotPrincipal", with: #"{"AWS":"111122223333"}"#), messageContains: "Statement[0].NotPrincipal: element is not supported"),
        MalformedRow(document: statement(replacing: "Effects", with: #""Allow""#), messageContains: "Statement[0].Effects: unknown statement element"),
        // Conditions.
        MalformedRow(document: statement(replacing: "Condition", with: #""x""#), messageContains: "Statement[0].Condition: must be an object"),
        MalformedRow(document: statement(replacing: "Condition", with: #"{"NumericEquals":{"kms:ViaService":"1"}}"#), messageContains: "Statement[0].Condition.NumericEquals: unsupported condition operator"),
        MalformedRow(document: statement(replacing: "Condition", with: #"{"stringequals":{"kms:ViaService":"x"}}"#), messageContains: "Statement[0].Condition.stringequals: unsupported condition operator"),
        MalformedRow(document: statement(replacing: "Condition", with: #"{"ForSomeValues:StringEquals":{"kms:ViaService":"x"}}"#), messageContains: "unsupported condition operator"),
        MalformedRow(document: statement(replacing: "Condition", with: #"{"StringEquals":{}}"#), messageContains: "Statement[0].Condition.StringEquals: must be a non-empty object"),
        MalformedRow(document: statement(replacing: "Condition", with: #"{"StringEquals":"kms:ViaService"}"#), messageContains: "Statement[0].Condition.StringEquals: must be a non-empty object"),
        MalformedRow(document: statement(replacing: "Condition", with: #"{"StringEquals":{"kms:KeySpec":"x"}}"#), messageContains: "Statement[0].Condition.StringEquals.kms:KeySpec: unsupported condition key"),
        MalformedRow(document: statement(replacing: "Condition", with: #"{"StringEquals":{"kms:EncryptionContext:":"x"}}"#), messageContains: "unsupported condition key"),
        MalformedRow(document: statement(replacing: "Condition", with: #"{"StringEquals":{"kms:ViaService":[]}}"#), messageContains: "Statement[0].Condition.StringEquals.kms:ViaService: must list at least one value"),
        MalformedRow(document: statement(replacing: "Condition", with: #"{"StringEquals":{"kms:ViaService":{"a":"b"}}}"#), messageContains: "kms:ViaService: a condition value must be a string, number or boolean, not an object"),
        MalformedRow(document: statement(replacing: "Condition", with: #"{"StringEquals":{"kms:ViaService":["a",null]}}"#), messageContains: "kms:ViaService[1]: a condition value must be a string, number or boolean, not null"),
        MalformedRow(document: statement(replacing: "Condition", with: #"{"Bool":{"kms:GrantIsForAWSResource":"yes"}}"#), messageContains: "Bool values must be true or false"),
        // JSON syntax details.
        MalformedRow(document: #"{"Statement":[{"Effect":"Al\low"}]}"#, messageContains: "invalid escape sequence"),
        MalformedRow(document: #"{"Statement":[{"Effect":"\u12"}]}"#, messageContains: "invalid hex digit"),
        MalformedRow(document: #"{"Statement":[{"Effect":"\ud800"}]}"#, messageContains: "unpaired surrogate"),
        MalformedRow(document: #"{"Statement":[{"Effect":"\udc00"}]}"#, messageContains: "unpaired surrogate"),
        MalformedRow(document: #"{"Statement":[{"Effect":"\ud800\u0041"}]}"#, messageContains: "invalid low surrogate"),
        MalformedRow(document: "{\"Statement\":[{\"Effect\":\"a\tb\"}]}", messageContains: "control character"),
        MalformedRow(document: #"{"Statement":[{"Effect":"Allow"#, messageContains: "unterminated string"),
        MalformedRow(document: #"{"Statement":01}"#, messageContains: "expected ',' or '}'"),
        MalformedRow(document: #"{"Statement":-}"#, messageContains: "invalid number"),
        MalformedRow(document: #"{"Statement":1.}"#, messageContains: "digits expected after '.'"),
        MalformedRow(document: #"{"Statement":1e}"#, messageContains: "digits expected in exponent"),
        MalformedRow(document: #"{"Statement":tru}"#, messageContains: "invalid literal"),
        MalformedRow(document: #"{'Statement':[]}"#, messageContains: "expected a member name in double quotes"),
        MalformedRow(document: "\u{FEFF}{}", messageContains: "not valid JSON at byte 0"),
        // Limits.
        MalformedRow(document: String(repeating: "[", count: 30_000), messageContains: "nesting deeper than 16 levels"),
        MalformedRow(document: #"{"Statement":"# + String(repeating: "[", count: 16) + String(repeating: "]", count: 16) + "}", messageContains: "nesting deeper than 16 levels"),
        MalformedRow(document: #"{"Id":""# + String(repeating: "x", count: 32 * 1024) + #"","Statement":[\#(valid)]}"#, messageContains: "the limit is 32768"),
    ]

    @Test("malformed documents are rejected with the path to the problem", arguments: Self.malformedRows)
    func malformed(row: MalformedRow) {
        let error = #expect(throws: KMSError.self) { try KeyPolicy(parsing: row.document) }
        #expect(error?.code == .malformedPolicyDocument)
        #expect(error?.message.contains(row.messageContains) == true, "message was: \(error?.message ?? "nil")")
    }

    @Test("documents at the size limit parse; one byte more does not")
    func sizeLimit() throws {
        let skeleton = #"{"Id":"","Statement":[\#(Self.valid)]}"#
        let padding = 32 * 1024 - skeleton.utf8.count
        let atLimit = #"{"Id":""# + String(repeating: "x", count: padding) + #"","Statement":[\#(Self.valid)]}"#
        #expect(atLimit.utf8.count == 32 * 1024)
        _ = try KeyPolicy(parsing: atLimit)
        let overLimit = #"{"Id":""# + String(repeating: "x", count: padding + 1) + #"","Statement":[\#(Self.valid)]}"#
        #expect(throws: KMSError(code: .malformedPolicyDocument, message: "")) { try KeyPolicy(parsing: overLimit) }
        let smaller = KeyPolicyLimits(maximumDocumentBytes: 100)
        #expect(throws: KMSError(code: .malformedPolicyDocument, message: "")) { try KeyPolicy(parsing: F.seedPolicy, limits: smaller) }
    }

    @Test("grammar variants AWS accepts")
    func acceptedVariants() throws {
        // A single statement object, Version 2008, Id, escapes, numbers and booleans as condition values.
        let document = #"""
            {"Version":"2008-10-17","Id":"key-policy-\u00e9","Statement":{"Sid":"","Effect":"Deny","Principal":{"AWS":["*"]},
             "Action":["kms:*"],"Resource":["arn:aws:kms:us-east-1:111122223333:key/*"],
             "Condition":{"StringEquals":{"kms:EncryptionContext:n":[1,2.5e3,-0]},"Bool":{"kms:GrantIsForAWSResource":false}}}}
            """#
        let policy = try KeyPolicy(parsing: document)
        #expect(policy.version == "2008-10-17")
        #expect(policy.id == "key-policy-é")
        #expect(policy.statements.count == 1)
        #expect(policy.statements[0].principals.matchesEveryone)
        #expect(policy.statements[0].conditions[0].values == ["1", "2.5e3", "-0"])
        #expect(policy.statements[0].conditions[1].values == ["false"])
        // Empty Sids may repeat; surrogate pairs decode.
        let two = F.policy(#"{"Sid":"","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#, #"{"Sid":"\ud83d\ude00","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#)
        #expect(try KeyPolicy(parsing: two).statements[1].sid == "😀")
    }

    @Test("every truncation of a valid policy is rejected")
    func truncations() {
        let bytes = Array(F.seedPolicy.utf8)
        for length in 0..<bytes.count {
            let prefix = String(decoding: bytes[0..<length], as: UTF8.self)
            #expect(throws: KMSError(code: .malformedPolicyDocument, message: "")) { try KeyPolicy(parsing: prefix) }
        }
    }

    @Test("random mutations either parse or are malformed, and never crash")
    func mutations() {
        var generator = SplitMix64(seed: 42)
        let bytes = Array(F.seedPolicy.utf8)
        let alphabet = Array(#"{}[]":,\*? atfnu0123456789-eE."#.utf8)
        var parsed = 0
        for _ in 0..<3_000 {
            var mutated = bytes
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<mutated.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: mutated[index] = alphabet.randomElement(using: &generator)!
                case 1: mutated.remove(at: index)
                default: mutated.insert(alphabet.randomElement(using: &generator)!, at: index)
                }
            }
            do {
                _ = try KeyPolicy(parsing: String(decoding: mutated, as: UTF8.self))
                parsed += 1
            } catch let error as KMSError {
                #expect(error.code == .malformedPolicyDocument)
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        #expect(parsed < 3_000)
    }
}

// A key policy as PutKeyPolicy or CreateKey receive it, and its evaluation against the requests
// KeyService.authorize builds: principal, action, resource, kms:ViaService, encryption context and
// the CreateGrant facts (grant operations, grantee, retiring principal, GrantIsForAWSResource),
// plus the grant checks made when the policy does not allow (operation names, constraints).
//
// Input: the policy document, then optionally a 0x00 byte and request fields separated by 0x00:
//   principal, action, kms:ViaService, resource, grant operations (comma-separated), grantee,
//   retiring principal, flags (bit 0: GrantIsForAWSResource given, bit 1: its value),
//   then encryption context key, value, key, value, …
// An empty or missing field means "not in the request" (principal, action and resource fall back
// to the seed policy's HealthLake role, kms:Decrypt and a key ARN).

import Foundation
import FuzzSupport

@testable import KMS

private let keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

/// Requests every policy is also evaluated against: the seed document's cases.
private let fixedRequests: [PolicyRequestContext] = {
    let principals = [
        "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole",
        "arn:aws:iam::444455556666:role/Admin", "healthlake.amazonaws.com",
    ]
    let actions = ["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:PutKeyPolicy"]
    return principals.flatMap { principal in
        actions.map { action in
            PolicyRequestContext(
                principal: principal, action: action, resource: keyARN, viaService: "healthlake.amazonaws.com",
                encryptionContext: ["aws:healthlake:datastore": "0123456789abcdef0123456789abcdef"])
        }
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let parts = fields(bytes(data, size))
    guard let policy = try? KeyPolicy(parsing: text(parts[0])) else { return 0 }

    func field(_ index: Int) -> String? {
        index < parts.count && !parts[index].isEmpty ? text(parts[index]) : nil
    }
    var pairs: [String: String] = [:]
    var position = 9
    while position + 1 < parts.count {
        pairs[text(parts[position])] = text(parts[position + 1])
        position += 2
    }
    let context = EncryptionContext(pairs)
    let flags = parts.count > 8 ? parts[8].first ?? 0 : 0
    let grantOperations = field(5).map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    let request = PolicyRequestContext(
        principal: field(1) ?? "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole",
        action: field(2) ?? "kms:Decrypt",
        resource: field(4) ?? keyARN,
        viaService: field(3),
        encryptionContext: context,
        grantOperations: grantOperations,
        grantIsForAWSResource: flags & 1 != 0 ? flags & 2 != 0 : nil,
        granteePrincipal: field(6),
        retiringPrincipal: field(7))

    for settings in [PolicyEvaluationSettings(), PolicyEvaluationSettings(accountRootGrantsAccountPrincipals: true)] {
        let evaluator = PolicyEvaluator(settings: settings)
        for request in [request] + fixedRequests {
            let decision = evaluator.evaluate(policy, for: request)
            let applying = policy.statements.filter { evaluator.applies($0, to: request) }
            switch decision {
            case .explicitlyDenied(let sid):
                require(applying.contains { $0.effect == .deny && $0.sid == sid }, "a deny without an applying Deny statement")
            case .allowed(let sid):
                require(!applying.contains { $0.effect == .deny }, "allowed although a Deny statement applies")
                require(applying.contains { $0.effect == .allow && $0.sid == sid }, "allowed without an applying Allow statement")
            case .implicitlyDenied:
                require(applying.isEmpty, "implicitly denied although a statement applies")
            }
        }
    }

    // When no statement allows, KeyService looks for a grant: the request's context must meet the
    // grant's constraints, and a CreateGrant through a grant must stay within it.
    _ = try? context.validate()
    _ = context.canonicalEncoding
    let operations = (grantOperations ?? []).compactMap { try? GrantOperation(validating: $0) }
    let constraints = [
        GrantConstraints(encryptionContextSubset: context.pairs), GrantConstraints(encryptionContextEquals: context.pairs),
    ]
    for constraint in constraints {
        require(constraint.isSatisfied(by: context), "a context does not satisfy constraints made of itself")
        _ = try? constraint.validate(limits: CiphertextLimits())
        let grant = Grant(
            grantID: String(repeating: "0", count: 64), keyID: grantKeyID, name: nil, granteePrincipal: request.principal,
            retiringPrincipal: request.retiringPrincipal, issuingAccount: "111122223333", operations: operations.sorted(),
            constraints: constraint, creationDate: Date(timeIntervalSince1970: 0))
        for operation in GrantOperation.allCases {
            let allowed = grant.allows(operation, principal: request.principal, context: context)
            require(allowed == operations.contains(operation), "grant decision for \(operation) disagrees with its operations")
        }
        let facts = GrantRequestFacts(
            operations: operations, granteePrincipal: request.granteePrincipal ?? request.principal,
            retiringPrincipal: request.retiringPrincipal, constraints: constraint)
        require(facts.isWithin(grant), "a grant request equal to its parent grant is not within it")
    }
    return 0
}

private let grantKeyID = KeyID(UUID(uuidString: "1234abcd-12ab-34cd-56ef-1234567890ab")!)

// MARK: - Seeds

@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    makeCorpusIfAsked(argc, argv, seeds: seeds)
    return 0
}

/// The default key policy (KeyPolicy.defaultPolicy), the seed document's HealthLake policy
/// (Tests/KMSTests/TestSupport/PolicyFixtures.swift, verbatim) and statements from the policy
/// tests, each with the requests those tests make of them.
private func seeds() -> [Seed] {
    let root = #"{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#
    let seedPolicy = """
        {
          "Version": "2012-10-17",
          "Statement": [
            \(root),
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
    func policy(_ statements: String...) -> String {
        #"{"Version":"2012-10-17","Statement":[\#(statements.joined(separator: ","))]}"#
    }
    /// The document and the request fields, 0x00-separated (see the top of this file).
    func seed(_ name: String, _ document: String, _ request: [String]) -> Seed {
        Seed(name, ([document] + request).joined(separator: "\u{0}"))
    }
    let role = "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"
    let admin = "arn:aws:iam::111122223333:role/Admin"
    let healthLake = "healthlake.amazonaws.com"
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    let datastore = "0123456789abcdef0123456789abcdef"
    return [
        seed("default-policy", KeyPolicy.defaultPolicy(accountID: "111122223333").document, []),
        seed("seed-policy-via-healthlake", seedPolicy, [role, "kms:GenerateDataKey", healthLake, key, "", "", "", "", "aws:healthlake:datastore", datastore]),
        seed("seed-policy-create-grant", seedPolicy, [
            role, "kms:CreateGrant", healthLake, key, "Decrypt,GenerateDataKey,RetireGrant", healthLake, healthLake, "\u{3}",
        ]),
        seed("seed-policy-direct", seedPolicy, [role, "kms:Decrypt"]),
        seed("deny-deletion", policy(
            root, #"{"Sid":"no-delete","Effect":"Deny","Principal":"*","Action":["kms:ScheduleKeyDeletion","kms:Disable*"],"Resource":"*"}"#),
            ["arn:aws:iam::111122223333:root", "kms:ScheduleKeyDeletion"]),
        seed("only-via-healthlake", policy(
            root, #"{"Sid":"only-via-healthlake","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringNotEquals":{"kms:ViaService":"healthlake.amazonaws.com"}}}"#),
            [admin, "kms:Decrypt", "s3.amazonaws.com"]),
        seed("encryption-context-like", policy(
            #"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Admin","Service":"healthlake.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringLike":{"kms:EncryptionContext:datastore":"ds-?-*"},"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["datastore","resourceType","id"]}}}"#),
            [admin, "kms:Decrypt", "", key, "", "", "", "", "datastore", "ds-1-abc", "id", "2"]),
        seed("grant-conditions", policy(
            #"{"Sid":"grants","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"},"Action":"kms:CreateGrant","Resource":"*","Condition":{"ForAllValues:StringEquals":{"kms:GrantOperations":["Decrypt","GenerateDataKey","RetireGrant"]},"Bool":{"kms:GrantIsForAWSResource":true},"StringEqualsIfExists":{"kms:RetiringPrincipal":"healthlake.amazonaws.com"},"StringLike":{"kms:GranteePrincipal":"*.amazonaws.com","aws:PrincipalArn":"arn:aws:iam::111122223333:role/Health*"}}}"#),
            [role, "kms:CreateGrant", healthLake, key, "Decrypt,GenerateDataKey", healthLake, "", "\u{3}"]),
        seed("unicode-2008-single-statement", #"""
            {"Version":"2008-10-17","Id":"key-policy-\u00e9","Statement":{"Sid":"","Effect":"Deny","Principal":{"AWS":["*"]},"Action":"kms:*","Resource":["*"],
             "Condition":{"StringEquals":{"kms:EncryptionContext:n":[1,2.5e3,-0]},"Bool":{"kms:GrantIsForAWSResource":false}}}}
            """#, [admin, "kms:Encrypt", "", key, "", "", "", "", "n", "2.5e3"]),
    ]
}

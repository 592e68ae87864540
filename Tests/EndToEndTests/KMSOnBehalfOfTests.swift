import Foundation
import Testing

/// A registered service may act on behalf of users only for what a data service does (describe,
/// grants, data keys). Every other `keylake kms` operation, sent by the data service's identity
/// on behalf of the account root, is refused with AccessDeniedException, and the key is left as
/// it was.
@Suite("kmsd: what a service may do on behalf of others", .timeLimit(.minutes(10)))
struct KMSOnBehalfOfTests {
    typealias P = KMSPrincipals

    /// The CLI's kms subcommands for operations a data service forwards (allowed on behalf of a
    /// user, given a policy and grant that allow them) and those that name no operation.
    static let forwarded: Set<String> = [
        "describe-key", "create-grant", "retire-grant", "generate-data-key", "generate-data-key-without-plaintext", "decrypt",
        "re-encrypt", "encrypt",
    ]

    @Test("every administrative operation on behalf of root from the fhird identity is refused, audited, and changes nothing")
    func administrationRefused() async throws {
        try await withWorkspace { workspace in
            let system = try await KMSDevSystem.start(in: workspace)
            let environment = ["KEYLAKE_HOME": system.home]
            func kms(_ arguments: [String]) async throws -> CompletedProcess {
                try await workspace.keylake(["kms"] + arguments, environment: environment, timeout: .seconds(120))
            }
            let created = try await kms(["create-key", "--description", "untouched"])
            try #require(created.status == 0, "\(created.transcript)")
            let keyID = try #require(
                ((try JSONSerialization.jsonObject(with: Data(created.standardOutput.utf8)) as? [String: Any])?["KeyMetadata"] as? [String: Any])?[
                    "KeyId"] as? String)
            let before = try await kms(["describe-key", "--key-id", keyID])
            let policyBefore = try await kms(["get-key-policy", "--key-id", keyID])

            // Every kms subcommand the CLI has, from its own description, with the values it needs.
            let help = try await workspace.keylake(["kms", "--experimental-dump-help"])
            try #require(help.status == 0, "\(help.transcript)")
            let root = try #require(try JSONSerialization.jsonObject(with: Data(help.standardOutput.utf8)) as? [String: Any])
            let subcommands = try #require((root["command"] as? [String: Any])?["subcommands"] as? [[String: Any]])
            let policyFile = workspace.path("policy.json")
            try #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}"#
                .write(toFile: policyFile, atomically: true, encoding: .utf8)
            let values: [String: String] = [
                "key-id": keyID, "target-key-id": keyID, "destination-key-id": keyID, "alias-name": "alias/taken-over",
                "description": "changed by the data service", "tag": "owner=fhird", "tag-key": "owner", "policy-file": policyFile,
                "plaintext": "aGVsbG8=", "ciphertext-blob": "aGVsbG8=", "number-of-bytes": "16", "grantee-principal": P.app,
                "operations": "Decrypt", "retiring-principal": P.app, "grant-id": "0000000000000000000000000000000000000000000000000000000000000000",
                "pending-window-in-days": "7",
            ]
            var refused: [String] = []
            for subcommand in subcommands {
                guard let name = subcommand["commandName"] as? String, name != "help", !Self.forwarded.contains(name) else { continue }
                var arguments = [name, "--as", "fhird", "--on-behalf-of", P.root]
                if name == "tag-resource" { arguments += ["--tag", "owner=fhird"] }  // no tag option is required
                for argument in subcommand["arguments"] as? [[String: Any]] ?? [] {
                    guard argument["isOptional"] as? Bool == false, argument["kind"] as? String == "option",
                        let option = (argument["names"] as? [[String: Any]])?.first?["name"] as? String
                    else { continue }
                    arguments += ["--\(option)", try #require(values[option], "kms \(name): a value for --\(option)")]
                }
                let result = try await kms(arguments)
                #expect(result.status == 254, "kms \(name)\n\(result.transcript)")
                #expect(result.standardError.contains("(AccessDeniedException)"), "kms \(name)\n\(result.transcript)")
                #expect(
                    result.standardError.contains("healthlake.amazonaws.com may not call"), "kms \(name)\n\(result.transcript)")
                refused.append(name)
            }
            #expect(refused.count >= 25, "only \(refused.count) operations tried: \(refused)")
            for expected in [
                "disable-key", "schedule-key-deletion", "put-key-policy", "create-key", "revoke-grant", "create-alias", "tag-resource",
                "update-key-description", "enable-key-rotation", "rotate-key-on-demand", "lookup-events",
            ] {
                #expect(refused.contains(expected), "\(expected) was not tried")
            }

            // The key is as it was: same metadata, policy, no alias or tag.
            let after = try await kms(["describe-key", "--key-id", keyID])
            #expect(after.standardOutput == before.standardOutput, "\(after.transcript)")
            #expect(try await kms(["get-key-policy", "--key-id", keyID]).standardOutput == policyBefore.standardOutput)
            #expect(!(try await kms(["list-aliases"])).standardOutput.contains("alias/taken-over"))
            #expect(!(try await kms(["list-resource-tags", "--key-id", keyID])).standardOutput.contains("owner"))

            // Each refusal is audited with both identities: the data service as the caller, the
            // principal it claimed in additionalEventData.
            let events = try await kms(["lookup-events", "--max-results", "200"])
            #expect(events.status == 0, "\(events.transcript)")
            #expect(events.standardOutput.contains("refusedOnBehalfOf"), "\(events.transcript)")
        }
    }
}

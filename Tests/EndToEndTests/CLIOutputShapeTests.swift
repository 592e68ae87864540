import Foundation
import Testing

/// Output shapes as the aws CLI prints them: nothing for an empty response, an empty list as an
/// empty list (so `jq '.Grants[]'` works).
@Suite("keylake CLI output shapes", .timeLimit(.minutes(10)))
struct CLIOutputShapeTests {
    @Test("an empty response prints nothing; an empty list prints its empty list")
    func emptyOutputs() async throws {
        try await withWorkspace { workspace in
            let system = try await KMSDevSystem.start(in: workspace)
            let environment = ["KEYLAKE_HOME": system.home]
            func keylake(_ arguments: [String]) async throws -> CompletedProcess {
                try await workspace.keylake(arguments, environment: environment, timeout: .seconds(120))
            }
            let created = try await keylake(["kms", "create-key"])
            try #require(created.status == 0, "\(created.transcript)")
            let keyID = try #require(
                ((try JSONSerialization.jsonObject(with: Data(created.standardOutput.utf8)) as? [String: Any])?["KeyMetadata"] as? [String: Any])?[
                    "KeyId"] as? String)

            for empty in [["kms", "disable-key", "--key-id", keyID], ["kms", "enable-key", "--key-id", keyID]] {
                let result = try await keylake(empty)
                #expect(result.status == 0, "\(result.transcript)")
                #expect(result.standardOutput.isEmpty, "\(empty): \(result.transcript)")
            }
            for (arguments, list) in [
                (["kms", "list-grants", "--key-id", keyID], "Grants"), (["kms", "list-aliases"], "Aliases"),
                (["kms", "list-resource-tags", "--key-id", keyID], "Tags"),
                (["healthlake", "list-fhir-datastores"], "DatastorePropertiesList"),
            ] {
                let result = try await keylake(arguments)
                #expect(result.status == 0, "\(result.transcript)")
                let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
                #expect((object?[list] as? [Any])?.isEmpty == true, "\(arguments): \(result.transcript)")
            }
        }
    }

    @Test("list-valued options take the aws CLI's spellings: --operations A B, --tags TagKey=k,TagValue=v ...")
    func awsSpellings() async throws {
        try await withWorkspace { workspace in
            let system = try await KMSDevSystem.start(in: workspace)
            let environment = ["KEYLAKE_HOME": system.home]
            func keylake(_ arguments: [String]) async throws -> CompletedProcess {
                try await workspace.keylake(arguments, environment: environment, timeout: .seconds(120))
            }
            func json(_ result: CompletedProcess) -> [String: Any] {
                (try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]) ?? [:]
            }
            let created = try await keylake(["kms", "create-key"])
            let keyID = try #require((json(created)["KeyMetadata"] as? [String: Any])?["KeyId"] as? String, "\(created.transcript)")

            let grant = try await keylake([
                "kms", "create-grant", "--key-id", keyID, "--grantee-principal", "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole",
                "--operations", "Decrypt", "GenerateDataKey",
            ])
            #expect(grant.status == 0, "\(grant.transcript)")
            let listed = try await keylake(["kms", "list-grants", "--key-id", keyID])
            let operations = ((json(listed)["Grants"] as? [[String: Any]])?.first?["Operations"] as? [String]) ?? []
            #expect(Set(operations) == ["Decrypt", "GenerateDataKey"], "\(listed.transcript)")

            let tagged = try await keylake(["kms", "tag-resource", "--key-id", keyID, "--tags", "TagKey=team,TagValue=a", "TagKey=env,TagValue=b"])
            #expect(tagged.status == 0, "\(tagged.transcript)")
            let tags = try await keylake(["kms", "list-resource-tags", "--key-id", keyID])
            let pairs = ((json(tags)["Tags"] as? [[String: Any]]) ?? []).compactMap { tag -> String? in
                guard let key = tag["TagKey"] as? String, let value = tag["TagValue"] as? String else { return nil }
                return "\(key)=\(value)"
            }
            #expect(Set(pairs) == ["team=a", "env=b"], "\(tags.transcript)")

            let bad = try await keylake(["kms", "tag-resource", "--key-id", keyID, "--tags", "Key=team"])
            #expect(bad.status != 0 && bad.standardError.contains("TagKey=k,TagValue=v"), "\(bad.transcript)")

            // audit lookup as `aws cloudtrail lookup-events`: --lookup-attributes, and events with
            // ReadOnly, EventSource, Resources and the full CloudTrailEvent.
            for command in [["audit", "lookup"], ["kms", "lookup-events"]] {
                let lookup = try await keylake(command + ["--lookup-attributes", "AttributeKey=EventName,AttributeValue=TagResource"])
                #expect(lookup.status == 0, "\(lookup.transcript)")
                let events = (json(lookup)["Events"] as? [[String: Any]]) ?? []
                #expect(!events.isEmpty, "\(lookup.transcript)")
                for event in events {
                    #expect(event["EventName"] as? String == "TagResource")
                    #expect(event["ReadOnly"] as? String == "false")
                    #expect(event["EventSource"] as? String == "kms.amazonaws.com")
                    let resources = (event["Resources"] as? [[String: Any]]) ?? []
                    #expect(resources.first?["ResourceType"] as? String == "AWS::KMS::Key", "\(event)")
                    #expect((resources.first?["ResourceName"] as? String)?.hasSuffix(keyID) == true, "\(event)")
                    let record = (event["CloudTrailEvent"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
                    #expect((record as? [String: Any])?["eventName"] as? String == "TagResource")
                }
            }
            let malformed = try await keylake(["audit", "lookup", "--lookup-attributes", "EventName=TagResource"])
            #expect(malformed.status != 0 && malformed.standardError.contains("AttributeKey=K,AttributeValue=V"), "\(malformed.transcript)")
        }
    }
}

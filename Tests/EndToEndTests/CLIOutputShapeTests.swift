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
}

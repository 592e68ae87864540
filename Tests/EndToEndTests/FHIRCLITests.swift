import Foundation
import Testing

/// `keylake healthlake …` and `keylake fhir …` against `keylake dev up`: AWS-CLI-shaped JSON for
/// datastores, FHIR JSON for resources, and on failure exit status 254 with the error name and
/// the OperationOutcome on stderr.
@Suite("keylake healthlake and fhir CLI against dev up", .timeLimit(.minutes(10)))
struct FHIRCLITests {
    typealias P = KMSPrincipals

    @Test("datastore lifecycle, tags, resource CRUD, history, search, bundle and errors through the CLI binary")
    func cliScenario() async throws {
        try await withWorkspace { workspace in
            let system = try await KMSDevSystem.start(in: workspace)
            let environment = ["KEYLAKE_HOME": system.home]
            func keylake(_ arguments: [String]) async throws -> CompletedProcess {
                try await workspace.keylake(arguments, environment: environment)
            }
            func succeeded(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
                let result = try await keylake(arguments)
                #expect(result.status == 0, "\(result.transcript)", sourceLocation: sourceLocation)
                return try #require(try Self.json(result.standardOutput), "\(result.transcript)", sourceLocation: sourceLocation)
            }
            func failed(_ arguments: [String], _ errorName: String, _ operation: String, sourceLocation: SourceLocation = #_sourceLocation) async throws
                -> CompletedProcess
            {
                let result = try await keylake(arguments)
                #expect(result.status == 254, "\(result.transcript)", sourceLocation: sourceLocation)
                #expect(
                    result.standardError.contains("An error occurred (\(errorName)) when calling the \(operation) operation"), "\(result.transcript)",
                    sourceLocation: sourceLocation)
                #expect(result.standardError.contains(#""resourceType":"OperationOutcome""#), "no OperationOutcome\n\(result.transcript)", sourceLocation: sourceLocation)
                #expect(result.standardOutput.isEmpty, "\(result.transcript)", sourceLocation: sourceLocation)
                return result
            }

            // A customer-managed key with the seed policy, through the kms CLI as admin.
            let key = try await succeeded(["kms", "create-key", "--description", "fhir cli e2e"])
            let keyMetadata = try #require(key["KeyMetadata"] as? [String: Any])
            let keyARN = try #require(keyMetadata["Arn"] as? String)
            let policyFile = workspace.path("seed-policy.json")
            try KMSPolicies.seedPolicy.write(toFile: policyFile, atomically: true, encoding: .utf8)
            let put = try await keylake(["kms", "put-key-policy", "--key-id", keyARN, "--policy-file", policyFile])
            #expect(put.status == 0 && put.standardOutput.isEmpty, "\(put.transcript)")

            // create-fhir-datastore: service-owned (shorthand tags) and customer-managed (--sse-configuration JSON), as app.
            let service = try await succeeded([
                "healthlake", "create-fhir-datastore", "--as", "app", "--datastore-name", "cli-service", "--tags", "Key=team,Value=e2e",
                "Key=env,Value=test",
            ])
            let serviceID = try #require(service["DatastoreId"] as? String, "\(service)")
            #expect(service["DatastoreArn"] as? String == "arn:aws:healthlake:us-east-1:111122223333:datastore/fhir/\(serviceID)")
            #expect(service["DatastoreStatus"] as? String == "ACTIVE", "\(service)")
            #expect(service["DatastoreEndpoint"] as? String == "keylake://fhird/datastore/\(serviceID)/r4/")
            #expect(Set(service.keys) == ["DatastoreId", "DatastoreArn", "DatastoreStatus", "DatastoreEndpoint"], "\(service)")
            let sse = #"{"KmsEncryptionConfig":{"CmkType":"CUSTOMER_MANAGED_KMS_KEY","KmsKeyId":"\#(keyARN)"}}"#
            let cmk = try await succeeded([
                "healthlake", "create-fhir-datastore", "--as", "app", "--datastore-name", "cli-cmk", "--sse-configuration", sse,
                "--client-token", "cli-token-1",
            ])
            let cmkID = try #require(cmk["DatastoreId"] as? String, "\(cmk)")
            #expect(cmk["DatastoreStatus"] as? String == "ACTIVE", "\(cmk)")
            // The same client token and parameters: the same datastore.
            let again = try await succeeded([
                "healthlake", "create-fhir-datastore", "--as", "app", "--datastore-name", "cli-cmk", "--sse-configuration", sse,
                "--client-token", "cli-token-1",
            ])
            #expect(again["DatastoreId"] as? String == cmkID)

            // describe-fhir-datastore.
            let described = try #require(
                try await succeeded(["healthlake", "describe-fhir-datastore", "--datastore-id", cmkID])["DatastoreProperties"] as? [String: Any])
            #expect(described["DatastoreName"] as? String == "cli-cmk")
            #expect(described["DatastoreTypeVersion"] as? String == "R4")
            #expect(described["DatastoreStatus"] as? String == "ACTIVE")
            let encryption = (described["SseConfiguration"] as? [String: Any])?["KmsEncryptionConfig"] as? [String: Any]
            #expect(encryption?["CmkType"] as? String == "CUSTOMER_MANAGED_KMS_KEY", "\(described)")
            #expect(encryption?["KmsKeyId"] as? String == keyARN, "\(described)")
            let createdAt = try #require(described["CreatedAt"] as? String, "\(described)")
            #expect(ISO8601DateFormatter.withFractionalSeconds.date(from: createdAt) != nil, "CreatedAt \(createdAt) is no ISO 8601 timestamp")

            // list-fhir-datastores: paging, shorthand filter, JSON filter.
            let firstPage = try await succeeded(["healthlake", "list-fhir-datastores", "--max-results", "1"])
            let firstList = try #require(firstPage["DatastorePropertiesList"] as? [[String: Any]], "\(firstPage)")
            #expect(firstList.count == 1)
            let token = try #require(firstPage["NextToken"] as? String, "a page of 1 of 2 datastores has a NextToken: \(firstPage)")
            let secondPage = try await succeeded(["healthlake", "list-fhir-datastores", "--max-results", "1", "--next-token", token])
            let secondList = try #require(secondPage["DatastorePropertiesList"] as? [[String: Any]], "\(secondPage)")
            #expect(Set((firstList + secondList).compactMap { $0["DatastoreId"] as? String }) == [serviceID, cmkID])
            let byName = try await succeeded(["healthlake", "list-fhir-datastores", "--filter", #"{"DatastoreName":"cli-service"}"#])
            #expect((byName["DatastorePropertiesList"] as? [[String: Any]])?.compactMap { $0["DatastoreId"] as? String } == [serviceID], "\(byName)")
            let active = try await succeeded(["healthlake", "list-fhir-datastores", "--datastore-status", "ACTIVE"])
            #expect((active["DatastorePropertiesList"] as? [[String: Any]])?.count == 2, "\(active)")

            // Tags on the service-owned datastore.
            let serviceARN = try #require(service["DatastoreArn"] as? String)
            let tags = try await succeeded(["healthlake", "list-tags-for-resource", "--resource-arn", serviceARN])
            #expect(Self.tags(tags) == ["env": "test", "team": "e2e"], "\(tags)")
            // Empty responses print nothing, as the aws CLI's do.
            for arguments in [
                ["healthlake", "tag-resource", "--resource-arn", serviceARN, "--tags", #"[{"Key":"owner","Value":"cli"}]"#],
                ["healthlake", "untag-resource", "--resource-arn", serviceARN, "--tag-keys", "env"],
            ] {
                let result = try await keylake(arguments)
                #expect(result.status == 0, "\(result.transcript)")
                #expect(result.standardOutput.isEmpty, "\(result.transcript)")
            }
            #expect(Self.tags(try await succeeded(["healthlake", "list-tags-for-resource", "--resource-arn", serviceARN])) == ["owner": "cli", "team": "e2e"])

            // fhir create (file) in the customer-managed datastore; read returns the same bytes.
            let patientFile = workspace.path("patient.json")
            try FHIRTestData.patient(family: "Clinton").write(to: URL(fileURLWithPath: patientFile))
            let createdRun = try await keylake(["fhir", "create", "--datastore-id", cmkID, "--file", patientFile])
            #expect(createdRun.status == 0, "\(createdRun.transcript)")
            let created = try #require(try Self.json(createdRun.standardOutput), "\(createdRun.transcript)")
            let patientID = try #require(created["id"] as? String)
            #expect((created["meta"] as? [String: Any])?["versionId"] as? String == "1")
            #expect((created["name"] as? [[String: Any]])?.first?["family"] as? String == "Clinton")
            let readRun = try await keylake(["fhir", "read", "--datastore-id", cmkID, "--resource-type", "Patient", "--id", patientID])
            #expect(readRun.status == 0, "\(readRun.transcript)")
            #expect(readRun.standardOutput == createdRun.standardOutput, "read differs from what create returned")

            // update with If-Match; vread of version 1; a stale If-Match is a VersionConflictException.
            let updateFile = workspace.path("patient-v2.json")
            try FHIRTestData.patient(id: patientID, family: "Rodham").write(to: URL(fileURLWithPath: updateFile))
            let updated = try await succeeded([
                "fhir", "update", "--datastore-id", cmkID, "--resource-type", "Patient", "--id", patientID, "--file", updateFile, "--if-match", "1",
            ])
            #expect((updated["meta"] as? [String: Any])?["versionId"] as? String == "2", "\(updated)")
            let version1 = try await keylake(["fhir", "vread", "--datastore-id", cmkID, "--resource-type", "Patient", "--id", patientID, "--version-id", "1"])
            #expect(version1.standardOutput == createdRun.standardOutput, "\(version1.transcript)")
            _ = try await failed(
                ["fhir", "update", "--datastore-id", cmkID, "--resource-type", "Patient", "--id", patientID, "--file", updateFile, "--if-match", "1"],
                "VersionConflictException", "UpdateResource")

            // history: a FHIR history Bundle, newest first.
            let history = try await succeeded(["fhir", "history", "--datastore-id", cmkID, "--resource-type", "Patient", "--id", patientID])
            #expect(history["resourceType"] as? String == "Bundle")
            #expect(history["type"] as? String == "history")
            let entries = try #require(history["entry"] as? [[String: Any]], "\(history)")
            #expect(entries.compactMap { (($0["resource"] as? [String: Any])?["meta"] as? [String: Any])?["versionId"] as? String } == ["2", "1"], "\(history)")

            // search: by family (a searchset Bundle); an unknown parameter is a ValidationException.
            let found = try await succeeded(["fhir", "search", "--datastore-id", cmkID, "--resource-type", "Patient", "--param", "family=Rodham"])
            #expect(found["type"] as? String == "searchset")
            #expect(
                (found["entry"] as? [[String: Any]])?.compactMap { ($0["resource"] as? [String: Any])?["id"] as? String } == [patientID], "\(found)")
            let none = try await succeeded(["fhir", "search", "--datastore-id", cmkID, "--resource-type", "Patient", "--param", "family=Clinton"])
            #expect(((none["entry"] as? [[String: Any]]) ?? []).isEmpty, "the old family name still matches: \(none)")
            _ = try await failed(
                ["fhir", "search", "--datastore-id", cmkID, "--resource-type", "Patient", "--param", "shoe-size=42"], "ValidationException",
                "SearchResources")
            // --lenient: the unknown parameter is ignored, the known one still applies.
            let lenient = try await succeeded([
                "fhir", "search", "--datastore-id", cmkID, "--resource-type", "Patient", "--param", "shoe-size=42", "--param", "family=Rodham",
                "--lenient",
            ])
            #expect(
                (lenient["entry"] as? [[String: Any]])?.compactMap { ($0["resource"] as? [String: Any])?["id"] as? String } == [patientID],
                "\(lenient)")

            // bundle: a transaction with a urn:uuid reference.
            let bundleFile = workspace.path("transaction.json")
            let bundle = #"""
                {"resourceType":"Bundle","type":"transaction","entry":[
                 {"fullUrl":"urn:uuid:7f3c7a2e-2f4c-4f1e-9d1a-0c2b5a7e9b11","resource":{"resourceType":"Patient","name":[{"family":"Bundled"}]},"request":{"method":"POST","url":"Patient"}},
                 {"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"urn:uuid:7f3c7a2e-2f4c-4f1e-9d1a-0c2b5a7e9b11"},"valueQuantity":{"value":70,"unit":"kg"}},"request":{"method":"POST","url":"Observation"}}]}
                """#
            try bundle.write(toFile: bundleFile, atomically: true, encoding: .utf8)
            let response = try await succeeded(["fhir", "bundle", "--datastore-id", cmkID, "--file", bundleFile])
            #expect(response["type"] as? String == "transaction-response", "\(response)")
            let statuses = (response["entry"] as? [[String: Any]])?.compactMap { ($0["response"] as? [String: Any])?["status"] as? String } ?? []
            #expect(statuses.count == 2 && statuses.allSatisfy { $0.hasPrefix("201") }, "\(response)")
            let bundled = try await succeeded(["fhir", "search", "--datastore-id", cmkID, "--resource-type", "Patient", "--param", "family=Bundled"])
            #expect((bundled["entry"] as? [[String: Any]])?.count == 1, "\(bundled)")

            // capabilities.
            let capabilities = try await succeeded(["fhir", "capabilities"])
            #expect(capabilities["resourceType"] as? String == "CapabilityStatement")
            #expect(capabilities["fhirVersion"] as? String == "4.0.1", "\(capabilities.keys)")

            // delete, then read: ResourceNotFoundException.
            let deleted = try await succeeded(["fhir", "delete", "--datastore-id", cmkID, "--resource-type", "Patient", "--id", patientID])
            #expect(deleted["resourceType"] as? String == "OperationOutcome")
            #expect(((deleted["issue"] as? [[String: Any]])?.first?["diagnostics"] as? String)?.contains("version 3") == true, "\(deleted)")
            _ = try await failed(
                ["fhir", "read", "--datastore-id", cmkID, "--resource-type", "Patient", "--id", patientID], "ResourceNotFoundException", "ReadResource")

            // Errors: bad input, unknown datastore, a caller fhird's access policy does not know.
            let notJSON = workspace.path("not.json")
            try "this is not JSON".write(toFile: notJSON, atomically: true, encoding: .utf8)
            let invalid = try await failed(["fhir", "create", "--datastore-id", cmkID, "--file", notJSON], "ValidationException", "CreateResource")
            #expect(invalid.standardError.contains("\"issue\""), "\(invalid.transcript)")
            _ = try await failed(
                ["healthlake", "describe-fhir-datastore", "--datastore-id", "0123456789abcdef0123456789abcdef"], "ResourceNotFoundException",
                "DescribeFHIRDatastore")
            _ = try await failed(["healthlake", "list-fhir-datastores", "--as", "fhird"], "AccessDeniedException", "ListFHIRDatastores")
            let noHome = try await workspace.keylake(["healthlake", "list-fhir-datastores"], environment: ["KEYLAKE_HOME": ""])
            #expect(noHome.status != 0 && noHome.standardError.contains("no home"), "\(noHome.transcript)")

            // delete-fhir-datastore: DELETED; reading from it is refused.
            let gone = try await succeeded(["healthlake", "delete-fhir-datastore", "--datastore-id", serviceID])
            #expect(["DELETING", "DELETED"].contains(gone["DatastoreStatus"] as? String ?? ""), "\(gone)")
            let describedGone = try await succeeded(["healthlake", "describe-fhir-datastore", "--datastore-id", serviceID])
            #expect((describedGone["DatastoreProperties"] as? [String: Any])?["DatastoreStatus"] as? String == "DELETED", "\(describedGone)")
            _ = try await failed(["fhir", "create", "--datastore-id", serviceID, "--file", patientFile], "DatastoreNotActiveException", "CreateResource")

            #expect(await system.stop() == 0, "\(system.devUp.transcript)")
        }
    }

    static func json(_ text: String) throws -> [String: Any]? {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    static func tags(_ response: [String: Any]) -> [String: String] {
        var tags: [String: String] = [:]
        for tag in response["Tags"] as? [[String: Any]] ?? [] {
            if let key = tag["Key"] as? String { tags[key] = tag["Value"] as? String ?? "" }
        }
        return tags
    }
}

extension ISO8601DateFormatter {
    /// `2026-11-29T11:45:00.123Z`.
    static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}

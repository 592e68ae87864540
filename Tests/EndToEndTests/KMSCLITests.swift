import Foundation
import Testing

/// `keylake kms <operation>` against `keylake dev up`: AWS-CLI-shaped JSON on stdout, and exit
/// status 254 with "An error occurred (<ExceptionName>) when calling the <Op> operation" on stderr.
@Suite("keylake kms CLI against dev up", .timeLimit(.minutes(10)))
struct KMSCLITests {
    typealias P = KMSPrincipals

    @Test("create-key, put-key-policy, generate-data-key as app (denied) and via fhird, lookup-events, verify-audit-chain")
    func cliScenario() async throws {
        try await withWorkspace { workspace in
            let system = try await KMSDevSystem.start(in: workspace)
            let environment = ["KEYLAKE_HOME": system.home]
            func kms(_ arguments: [String]) async throws -> CompletedProcess {
                try await workspace.keylake(["kms"] + arguments, environment: environment)
            }

            // create-key (as admin, the default identity).
            let created = try await kms(["create-key", "--description", "cli e2e", "--tag", "team=e2e"])
            #expect(created.status == 0, "\(created.transcript)")
            let metadata = try #require(try Self.json(created.standardOutput)["KeyMetadata"] as? [String: Any], "\(created.transcript)")
            let keyID = try #require(metadata["KeyId"] as? String, "\(created.transcript)")
            let arn = try #require(metadata["Arn"] as? String)
            #expect(arn == "arn:aws:kms:us-east-1:111122223333:key/\(keyID)")
            #expect(metadata["KeyState"] as? String == "Enabled", "\(created.transcript)")
            #expect(metadata["Description"] as? String == "cli e2e")
            #expect(metadata["AWSAccountId"] as? String == P.account, "\(created.transcript)")

            // put-key-policy --policy-file with the seed statement, then get-key-policy returns it.
            let policyFile = workspace.path("seed-policy.json")
            try KMSPolicies.seedPolicy.write(toFile: policyFile, atomically: true, encoding: .utf8)
            let put = try await kms(["put-key-policy", "--key-id", keyID, "--policy-file", policyFile])
            #expect(put.status == 0, "\(put.transcript)")
            let got = try await kms(["get-key-policy", "--key-id", keyID])
            #expect(got.status == 0, "\(got.transcript)")
            #expect(try Self.json(got.standardOutput)["Policy"] as? String == KMSPolicies.seedPolicy, "\(got.transcript)")

            // A malformed policy file: MalformedPolicyDocumentException, exit 254.
            let badPolicyFile = workspace.path("bad-policy.json")
            try #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","NotAction":"kms:*","Resource":"*"}]}"#
                .write(toFile: badPolicyFile, atomically: true, encoding: .utf8)
            let malformed = try await kms(["put-key-policy", "--key-id", keyID, "--policy-file", badPolicyFile])
            #expect(malformed.status == 254, "\(malformed.transcript)")
            #expect(
                malformed.standardError.contains("An error occurred (MalformedPolicyDocumentException) when calling the PutKeyPolicy operation"),
                "\(malformed.transcript)")
            #expect(malformed.standardError.contains("NotAction"), "the message should name the problem\n\(malformed.transcript)")

            // generate-data-key --as app: denied, exit 254, AccessDeniedException on stderr, nothing on stdout.
            let denied = try await kms(["generate-data-key", "--as", "app", "--key-id", keyID, "--key-spec", "AES_256"])
            #expect(denied.status == 254, "\(denied.transcript)")
            #expect(
                denied.standardError.contains("An error occurred (AccessDeniedException) when calling the GenerateDataKey operation"),
                "\(denied.transcript)")
            #expect(!denied.standardOutput.contains("Plaintext"), "\(denied.transcript)")

            // The same through the service on behalf of app: allowed.
            let allowed = try await kms([
                "generate-data-key", "--as", "fhird", "--on-behalf-of", P.app, "--key-id", keyID, "--key-spec", "AES_256",
                "--encryption-context", "datastore=cli",
            ])
            #expect(allowed.status == 0, "\(allowed.transcript)")
            let dataKey = try Self.json(allowed.standardOutput)
            let plaintext = try #require(dataKey["Plaintext"] as? String, "\(allowed.transcript)")
            let blob = try #require(dataKey["CiphertextBlob"] as? String, "\(allowed.transcript)")
            #expect(Data(base64Encoded: plaintext)?.count == 32, "\(allowed.transcript)")
            #expect(dataKey["KeyId"] as? String == arn)

            // decrypt through the CLI round-trips the data key; a wrong context is InvalidCiphertextException.
            let decrypted = try await kms([
                "decrypt", "--as", "fhird", "--on-behalf-of", P.app, "--ciphertext-blob", blob, "--encryption-context", "datastore=cli",
            ])
            #expect(decrypted.status == 0, "\(decrypted.transcript)")
            #expect(try Self.json(decrypted.standardOutput)["Plaintext"] as? String == plaintext, "\(decrypted.transcript)")
            let wrongContext = try await kms(["decrypt", "--ciphertext-blob", blob, "--encryption-context", "datastore=other"])
            #expect(wrongContext.status == 254, "\(wrongContext.transcript)")
            #expect(wrongContext.standardError.contains("(InvalidCiphertextException) when calling the Decrypt operation"), "\(wrongContext.transcript)")

            // app pretending to act for someone: refused.
            let impersonation = try await kms(["describe-key", "--as", "app", "--on-behalf-of", P.someoneElse, "--key-id", keyID])
            #expect(impersonation.status == 254, "\(impersonation.transcript)")
            #expect(impersonation.standardError.contains("(AccessDeniedException) when calling the DescribeKey operation"), "\(impersonation.transcript)")

            // lookup-events --event-name GenerateDataKey: the denied and the allowed call, nothing else.
            let lookup = try await kms(["lookup-events", "--event-name", "GenerateDataKey"])
            #expect(lookup.status == 0, "\(lookup.transcript)")
            let events = try #require(try Self.json(lookup.standardOutput)["Events"] as? [[String: Any]], "\(lookup.transcript)")
            #expect(events.count == 2, "\(lookup.transcript)")
            #expect(events.allSatisfy { $0["EventName"] as? String == "GenerateDataKey" }, "\(lookup.transcript)")
            let documents = events.compactMap { $0["CloudTrailEvent"] as? String }.map { try? Self.json($0) }
            #expect(documents.count == 2)
            let errorCodes = documents.map { $0?["errorCode"] as? String }
            #expect(errorCodes.contains("AccessDeniedException"), "\(lookup.transcript)")
            #expect(errorCodes.contains(nil), "\(lookup.transcript)")
            let invokedBy = documents.compactMap { ($0?["userIdentity"] as? [String: Any])?["invokedBy"] as? String }
            #expect(invokedBy == [P.healthLake], "\(lookup.transcript)")
            #expect(!lookup.standardOutput.contains(plaintext), "the data key appears in the audit trail")

            // verify-audit-chain: "Valid": true.
            let verify = try await kms(["verify-audit-chain"])
            #expect(verify.status == 0, "\(verify.transcript)")
            let verification = try Self.json(verify.standardOutput)
            #expect(verification["Valid"] as? Bool == true, "\(verify.transcript)")
            #expect((verification["EventsChecked"] as? Int ?? 0) >= 8, "\(verify.transcript)")

            // Errors the CLI finds itself exit non-zero without calling kmsd.
            let notBase64 = try await kms(["decrypt", "--ciphertext-blob", "%%%"])
            #expect(notBase64.status != 0 && notBase64.status != 254, "\(notBase64.transcript)")
            #expect(notBase64.standardError.contains("base64"), "\(notBase64.transcript)")

            #expect(await system.stop() == 0, "\(system.devUp.transcript)")
        }
    }

    static func json(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw HarnessError("not a JSON object: \(text)")
        }
        return object
    }
}

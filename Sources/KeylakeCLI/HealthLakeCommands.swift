import ArgumentParser
import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import SwiftProtobuf

/// `keylake healthlake …`: fhird's control plane, one subcommand per operation, shaped like
/// `aws healthlake`.
///
/// Output is the response as JSON with the AWS CLI's member names (`DatastoreId`,
/// `DatastoreArn`, `DatastoreStatus`, `DatastoreEndpoint`, `DatastorePropertiesList`, …). A failed
/// call prints `An error occurred (<ErrorName>) when calling the <Operation> operation: <message>`
/// and the OperationOutcome on standard error and exits with status 254.
struct HealthLakeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthlake",
        abstract: "Manage FHIR datastores (fhird's control plane).",
        subcommands: [
            HealthLakeCreateDatastore.self, HealthLakeDescribeDatastore.self, HealthLakeListDatastores.self,
            HealthLakeDeleteDatastore.self, HealthLakeTagResource.self, HealthLakeUntagResource.self,
            HealthLakeListTagsForResource.self,
        ])
}

/// `CmkType` as the AWS CLI spells it.
enum HealthLakeCmkType: String, ExpressibleByArgument, CaseIterable {
    case awsOwned = "AWS_OWNED_KMS_KEY"
    case customerManaged = "CUSTOMER_MANAGED_KMS_KEY"

    var wire: Keylake_Healthlake_V1_CmkType {
        switch self {
        case .awsOwned: .awsOwnedKmsKey
        case .customerManaged: .customerManagedKmsKey
        }
    }
}

/// `DatastoreStatus` as the AWS CLI spells it.
enum HealthLakeDatastoreStatus: String, ExpressibleByArgument, CaseIterable {
    case creating = "CREATING"
    case active = "ACTIVE"
    case deleting = "DELETING"
    case deleted = "DELETED"
    case createFailed = "CREATE_FAILED"

    var wire: Keylake_Healthlake_V1_DatastoreStatus {
        switch self {
        case .creating: .creating
        case .active: .active
        case .deleting: .deleting
        case .deleted: .deleted
        case .createFailed: .createFailed
        }
    }
}

struct HealthLakeCreateDatastore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-fhir-datastore", abstract: "Create a FHIR R4 datastore.",
        discussion: """
            Encryption: --sse-configuration '{"KmsEncryptionConfig":{"CmkType":"CUSTOMER_MANAGED_KMS_KEY","KmsKeyId":"<key>"}}' \
            or the shorthand --cmk-type/--kms-key-id; without either, the service-owned key (AWS_OWNED_KMS_KEY).
            """)
    @OptionGroup var options: FHIRCLIOptions
    @Option(help: "Name, 1-256 characters.") var datastoreName: String
    @Option(help: "R4 (the only version).") var datastoreTypeVersion: String = "R4"
    @Option(help: "SseConfiguration JSON, as the AWS CLI takes it.") var sseConfiguration: String?
    @Option(help: "AWS_OWNED_KMS_KEY or CUSTOMER_MANAGED_KMS_KEY.") var cmkType: HealthLakeCmkType?
    @Option(help: "The customer-managed key: key id, key ARN, alias name or alias ARN.") var kmsKeyId: String?
    @Option(help: "Idempotency token, 1-64 characters.") var clientToken: String?
    @Option(parsing: .upToNextOption, help: "Tags: Key=k,Value=v … or a JSON list [{\"Key\":…,\"Value\":…}].")
    var tags: [String] = []

    func validate() throws {
        if self.sseConfiguration != nil, self.cmkType != nil || self.kmsKeyId != nil {
            throw ValidationError("give either --sse-configuration or --cmk-type/--kms-key-id, not both")
        }
    }

    /// The SSE configuration from `--sse-configuration` or the shorthand; nil for the default.
    func sse() throws -> Keylake_Healthlake_V1_SseConfiguration? {
        if let json = self.sseConfiguration {
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                let config = object["KmsEncryptionConfig"] as? [String: Any], let type = config["CmkType"] as? String
            else {
                throw ValidationError(#"--sse-configuration must be {"KmsEncryptionConfig":{"CmkType":"…","KmsKeyId":"…"}}"#)
            }
            guard let cmkType = HealthLakeCmkType(rawValue: type) else {
                throw ValidationError("CmkType must be AWS_OWNED_KMS_KEY or CUSTOMER_MANAGED_KMS_KEY, got \"\(type.prefix(64))\"")
            }
            guard config["KmsKeyId"] == nil || config["KmsKeyId"] is String else { throw ValidationError("KmsKeyId must be a string") }
            let keyID = config["KmsKeyId"] as? String ?? ""
            return .with {
                $0.kmsEncryptionConfig.cmkType = cmkType.wire
                $0.kmsEncryptionConfig.kmsKeyID = keyID
            }
        }
        guard self.cmkType != nil || self.kmsKeyId != nil else { return nil }
        // A key id alone means a customer-managed key.
        let type = self.cmkType ?? .customerManaged
        return .with {
            $0.kmsEncryptionConfig.cmkType = type.wire
            $0.kmsEncryptionConfig.kmsKeyID = self.kmsKeyId ?? ""
        }
    }

    func run() async throws {
        let sse = try self.sse()
        let tags = try healthLakeTags(self.tags, option: "--tags")
        let request = Keylake_Healthlake_V1_CreateFHIRDatastoreRequest.with {
            $0.datastoreName = self.datastoreName
            $0.datastoreTypeVersion = self.datastoreTypeVersion
            if let sse { $0.sseConfiguration = sse }
            $0.clientToken = self.clientToken ?? ""
            $0.tags = tags
        }
        try await self.options.run("CreateFHIRDatastore") { try await $0.createFHIRDatastore(request, options: $1) }
    }
}

struct HealthLakeDescribeDatastore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe-fhir-datastore", abstract: "Describe a datastore.")
    @OptionGroup var options: FHIRCLIOptions
    @Option var datastoreId: String
    func run() async throws {
        let request = Keylake_Healthlake_V1_DescribeFHIRDatastoreRequest.with { $0.datastoreID = self.datastoreId }
        try await self.options.run("DescribeFHIRDatastore") { try await $0.describeFHIRDatastore(request, options: $1) }
    }
}

struct HealthLakeListDatastores: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-fhir-datastores", abstract: "List datastores, filtered, one page at a time.")
    @OptionGroup var options: FHIRCLIOptions
    @Option(help: #"Filter JSON as the AWS CLI takes it: {"DatastoreName":…,"DatastoreStatus":…,"CreatedBefore":…,"CreatedAfter":…}."#)
    var filter: String?
    @Option(help: "Only datastores with this name.") var datastoreName: String?
    @Option(help: "Only datastores in this status.") var datastoreStatus: HealthLakeDatastoreStatus?
    @Option(help: "Only datastores created before this time (ISO 8601 or seconds since 1970).") var createdBefore: String?
    @Option(help: "Only datastores created after this time (ISO 8601 or seconds since 1970).") var createdAfter: String?
    @Option(help: "Page size, 1-500 (default 100).") var maxResults: Int32 = 0
    @Option(help: "NextToken of the previous page.") var nextToken: String = ""

    func validate() throws {
        if self.filter != nil, self.datastoreName != nil || self.datastoreStatus != nil || self.createdBefore != nil || self.createdAfter != nil {
            throw ValidationError("give either --filter or the shorthand filter options, not both")
        }
    }

    func wireFilter() throws -> Keylake_Healthlake_V1_DatastoreFilter {
        var filter = Keylake_Healthlake_V1_DatastoreFilter()
        var name = self.datastoreName
        var status = self.datastoreStatus
        var before = self.createdBefore
        var after = self.createdAfter
        if let json = self.filter {
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
                throw ValidationError("--filter must be a JSON object")
            }
            let known: Set<String> = ["DatastoreName", "DatastoreStatus", "CreatedBefore", "CreatedAfter"]
            if let unknown = object.keys.first(where: { !known.contains($0) }) {
                throw ValidationError("--filter: unknown member \"\(unknown.prefix(64))\"")
            }
            name = object["DatastoreName"] as? String
            if let text = object["DatastoreStatus"] as? String {
                guard let parsed = HealthLakeDatastoreStatus(rawValue: text) else {
                    throw ValidationError("--filter: unknown DatastoreStatus \"\(text.prefix(64))\"")
                }
                status = parsed
            }
            before = object["CreatedBefore"].map { "\($0)" }
            after = object["CreatedAfter"].map { "\($0)" }
        }
        if let name { filter.datastoreName = name }
        if let status { filter.datastoreStatus = status.wire }
        if let before { filter.createdBefore = try HealthLakeJSON.milliseconds(before, option: "CreatedBefore") }
        if let after { filter.createdAfter = try HealthLakeJSON.milliseconds(after, option: "CreatedAfter") }
        return filter
    }

    func run() async throws {
        let filter = try self.wireFilter()
        let request = Keylake_Healthlake_V1_ListFHIRDatastoresRequest.with {
            $0.filter = filter
            $0.maxResults = self.maxResults
            $0.nextToken = self.nextToken
        }
        try await self.options.run("ListFHIRDatastores") { try await $0.listFHIRDatastores(request, options: $1) }
    }
}

struct HealthLakeDeleteDatastore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-fhir-datastore", abstract: "Delete a datastore and everything in it.")
    @OptionGroup var options: FHIRCLIOptions
    @Option var datastoreId: String
    func run() async throws {
        let request = Keylake_Healthlake_V1_DeleteFHIRDatastoreRequest.with { $0.datastoreID = self.datastoreId }
        try await self.options.run("DeleteFHIRDatastore") { try await $0.deleteFHIRDatastore(request, options: $1) }
    }
}

struct HealthLakeTagResource: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag-resource", abstract: "Add or replace a datastore's tags.")
    @OptionGroup var options: FHIRCLIOptions
    @Option(help: "The datastore ARN.") var resourceArn: String
    @Option(parsing: .upToNextOption, help: "Key=k,Value=v … or a JSON list.") var tags: [String]
    func run() async throws {
        let tags = try healthLakeTags(self.tags, option: "--tags")
        let request = Keylake_Healthlake_V1_TagResourceRequest.with { $0.resourceArn = self.resourceArn; $0.tags = tags }
        try await self.options.run("TagResource") { try await $0.tagResource(request, options: $1) }
    }
}

struct HealthLakeUntagResource: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "untag-resource", abstract: "Remove tags from a datastore.")
    @OptionGroup var options: FHIRCLIOptions
    @Option(help: "The datastore ARN.") var resourceArn: String
    @Option(parsing: .upToNextOption, help: "Tag keys to remove.") var tagKeys: [String]
    func run() async throws {
        let request = Keylake_Healthlake_V1_UntagResourceRequest.with { $0.resourceArn = self.resourceArn; $0.tagKeys = self.tagKeys }
        try await self.options.run("UntagResource") { try await $0.untagResource(request, options: $1) }
    }
}

struct HealthLakeListTagsForResource: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-tags-for-resource", abstract: "List a datastore's tags.")
    @OptionGroup var options: FHIRCLIOptions
    @Option(help: "The datastore ARN.") var resourceArn: String
    func run() async throws {
        let request = Keylake_Healthlake_V1_ListTagsForResourceRequest.with { $0.resourceArn = self.resourceArn }
        try await self.options.run("ListTagsForResource") { try await $0.listTagsForResource(request, options: $1) }
    }
}

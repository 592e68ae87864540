import DataStore
public import GRPCCore
public import KeylakeProto
import KeylakeTransport
import SwiftProtobuf

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `keylake.healthlake.v1.HealthLakeService` over a ``FHIRService``: checks the caller against
/// the access policy, translates messages, and turns every failure into a ``HealthLakeError``
/// status. Nothing else.
public struct HealthLakeServiceHandler: Keylake_Healthlake_V1_HealthLakeService.SimpleServiceProtocol {
    private let service: FHIRService
    private let policy: AccessPolicy

    /// Creates the handler.
    public init(service: FHIRService, policy: AccessPolicy) {
        self.service = service
        self.policy = policy
    }

    /// Runs `body` for the verified caller if the policy allows `operation`; any failure
    /// becomes a ``HealthLakeError``.
    private func perform<T: Sendable>(_ operation: String, _ context: ServerContext, _ body: (String) async throws -> T) async throws -> T {
        guard let identity = context.peerIdentity else {
            throw RPCError(code: .unauthenticated, message: "no verified client identity")
        }
        // A caller's own on-behalf-of claim means nothing here: fhird serves end users directly.
        let principal = identity.principal
        guard self.policy.allows(principal, operation) else {
            throw HealthLakeError(code: .accessDenied, message: "\(principal) is not allowed to perform healthlake:\(operation)")
        }
        do {
            return try await body(principal)
        } catch {
            throw HealthLakeError(error)
        }
    }

    // MARK: - Control plane

    public func createFHIRDatastore(
        request: Keylake_Healthlake_V1_CreateFHIRDatastoreRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_CreateFHIRDatastoreResponse {
        try await self.perform("CreateFHIRDatastore", context) { caller in
            let config = request.sseConfiguration.kmsEncryptionConfig
            let keyType: EncryptionConfiguration.KeyType
            switch config.cmkType {
            case .unspecified, .awsOwnedKmsKey: keyType = .serviceOwned
            case .customerManagedKmsKey: keyType = .customerManaged
            case .UNRECOGNIZED(let value):
                throw HealthLakeError(code: .validation, message: "unknown CmkType \(value)")
            }
            // Validated as sent: a key given twice is an error, not "the last value wins".
            try self.service.validateTags(request.tags.map { (key: $0.key, value: $0.value) })
            var tags: [String: String] = [:]
            for tag in request.tags { tags[tag.key] = tag.value }
            let record = try await self.service.createDatastore(
                .init(
                    name: request.datastoreName, typeVersion: request.datastoreTypeVersion, keyType: keyType, kmsKeyID: config.kmsKeyID,
                    clientToken: request.clientToken.isEmpty ? nil : request.clientToken, tags: tags),
                caller: caller)
            return .with {
                $0.datastoreID = record.id
                $0.datastoreArn = self.service.settings.datastoreARN(record.id)
                $0.datastoreStatus = Self.wire(record.status)
                $0.datastoreEndpoint = self.service.settings.datastoreEndpoint(record.id)
            }
        }
    }

    public func describeFHIRDatastore(
        request: Keylake_Healthlake_V1_DescribeFHIRDatastoreRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_DescribeFHIRDatastoreResponse {
        try await self.perform("DescribeFHIRDatastore", context) { _ in
            let record = try self.service.describeDatastore(id: request.datastoreID)
            return .with { $0.datastoreProperties = self.properties(record) }
        }
    }

    public func listFHIRDatastores(
        request: Keylake_Healthlake_V1_ListFHIRDatastoresRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_ListFHIRDatastoresResponse {
        try await self.perform("ListFHIRDatastores", context) { _ in
            let filter = request.filter
            let status: DatastoreStatus?
            switch filter.datastoreStatus {
            case .unspecified: status = nil
            case .creating: status = .creating
            case .active: status = .active
            case .deleting: status = .deleting
            case .deleted: status = .deleted
            case .createFailed: status = .createFailed
            case .UNRECOGNIZED(let value): throw HealthLakeError(code: .validation, message: "unknown DatastoreStatus \(value)")
            }
            let page = try self.service.listDatastores(
                name: filter.datastoreName.isEmpty ? nil : filter.datastoreName, status: status,
                createdAfter: filter.createdAfter == 0 ? nil : Date(timeIntervalSince1970: Double(filter.createdAfter) / 1000),
                createdBefore: filter.createdBefore == 0 ? nil : Date(timeIntervalSince1970: Double(filter.createdBefore) / 1000),
                maxResults: Int(request.maxResults), nextToken: request.nextToken.isEmpty ? nil : request.nextToken)
            return .with { response in
                response.datastorePropertiesList = page.datastores.map(self.properties)
                response.nextToken = page.nextToken ?? ""
            }
        }
    }

    public func deleteFHIRDatastore(
        request: Keylake_Healthlake_V1_DeleteFHIRDatastoreRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_DeleteFHIRDatastoreResponse {
        try await self.perform("DeleteFHIRDatastore", context) { _ in
            let record = try await self.service.deleteDatastore(id: request.datastoreID)
            return .with {
                $0.datastoreID = record.id
                $0.datastoreArn = self.service.settings.datastoreARN(record.id)
                $0.datastoreStatus = Self.wire(record.status)
                $0.datastoreEndpoint = self.service.settings.datastoreEndpoint(record.id)
            }
        }
    }

    public func tagResource(
        request: Keylake_Healthlake_V1_TagResourceRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_TagResourceResponse {
        try await self.perform("TagResource", context) { _ in
            try self.service.tagResource(resourceARN: request.resourceArn, tags: request.tags.map { (key: $0.key, value: $0.value) })
            return .init()
        }
    }

    public func untagResource(
        request: Keylake_Healthlake_V1_UntagResourceRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_UntagResourceResponse {
        try await self.perform("UntagResource", context) { _ in
            try self.service.untagResource(resourceARN: request.resourceArn, keys: request.tagKeys)
            return .init()
        }
    }

    public func listTagsForResource(
        request: Keylake_Healthlake_V1_ListTagsForResourceRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_ListTagsForResourceResponse {
        try await self.perform("ListTagsForResource", context) { _ in
            let tags = try self.service.listTags(resourceARN: request.resourceArn)
            return .with { response in response.tags = tags.map { tag in .with { $0.key = tag.key; $0.value = tag.value } } }
        }
    }

    // MARK: - Data plane

    public func processBundle(
        request: Keylake_Healthlake_V1_ProcessBundleRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_ProcessBundleResponse {
        try await self.perform("ProcessBundle", context) { caller in
            // Each entry also needs the permission of the call it stands for.
            let response = try await self.service.processBundle(datastoreID: request.datastoreID, json: Array(request.bundle)) { operations in
                for operation in operations.sorted() where !self.policy.allows(caller, operation) {
                    throw HealthLakeError(
                        code: .accessDenied, message: "\(caller) is not allowed to perform healthlake:\(operation), which an entry of the Bundle needs")
                }
            }
            return .with { $0.bundle = Data(response) }
        }
    }

    public func createResource(
        request: Keylake_Healthlake_V1_CreateResourceRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_ResourceResponse {
        try await self.perform("CreateResource", context) { _ in
            Self.wire(try await self.service.create(datastoreID: request.datastoreID, json: Array(request.resource)))
        }
    }

    public func readResource(
        request: Keylake_Healthlake_V1_ReadResourceRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_ResourceResponse {
        try await self.perform("ReadResource", context) { _ in
            Self.wire(try await self.service.read(datastoreID: request.datastoreID, resourceType: request.resourceType, id: request.id))
        }
    }

    public func vReadResource(
        request: Keylake_Healthlake_V1_VReadResourceRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_ResourceResponse {
        try await self.perform("VReadResource", context) { _ in
            Self.wire(
                try await self.service.read(
                    datastoreID: request.datastoreID, resourceType: request.resourceType, id: request.id, versionID: request.versionID))
        }
    }

    public func updateResource(
        request: Keylake_Healthlake_V1_UpdateResourceRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_ResourceResponse {
        try await self.perform("UpdateResource", context) { _ in
            Self.wire(
                try await self.service.update(
                    datastoreID: request.datastoreID, resourceType: request.resourceType, id: request.id, json: Array(request.resource),
                    ifMatch: request.ifMatchVersionID.isEmpty ? nil : request.ifMatchVersionID))
        }
    }

    public func deleteResource(
        request: Keylake_Healthlake_V1_DeleteResourceRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_DeleteResourceResponse {
        try await self.perform("DeleteResource", context) { _ in
            let version = try await self.service.delete(datastoreID: request.datastoreID, resourceType: request.resourceType, id: request.id)
            return .with { $0.versionID = version.map(String.init) ?? "" }
        }
    }

    public func resourceHistory(
        request: Keylake_Healthlake_V1_ResourceHistoryRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_ResourceHistoryResponse {
        try await self.perform("ResourceHistory", context) { _ in
            let entries = try await self.service.history(
                datastoreID: request.datastoreID, resourceType: request.resourceType.isEmpty ? nil : request.resourceType,
                id: request.id.isEmpty ? nil : request.id, count: Int(request.count))
            return .with { response in
                response.entries = entries.map { entry in
                    .with {
                        $0.resourceType = entry.version.resourceType.name
                        $0.id = entry.version.id
                        $0.versionID = String(entry.version.versionID)
                        $0.lastUpdated = FHIRInstant.format(millisecondsSince1970: entry.version.lastUpdated)
                        $0.resource = Data(entry.version.json)
                        $0.deleted = entry.isDeleted
                    }
                }
            }
        }
    }

    public func searchResources(
        request: Keylake_Healthlake_V1_SearchResourcesRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_SearchResourcesResponse {
        try await self.perform("SearchResources", context) { _ in
            let result = try await self.service.search(
                datastoreID: request.datastoreID, resourceType: request.resourceType,
                parameters: request.parameters.map { ($0.name, $0.value) }, count: request.count == 0 ? nil : Int(request.count),
                pageToken: request.pageToken.isEmpty ? nil : request.pageToken, lenient: request.lenient)
            return .with {
                $0.bundle = Data(result.bundle())
                $0.ids = result.matches.map(\.id)
                $0.nextPageToken = result.nextPageToken ?? ""
            }
        }
    }

    public func capabilities(
        request: Keylake_Healthlake_V1_CapabilitiesRequest, context: ServerContext
    ) async throws -> Keylake_Healthlake_V1_CapabilitiesResponse {
        try await self.perform("Capabilities", context) { _ in
            .with { $0.capabilityStatement = Data(CapabilityStatement.r4(table: .r4).serialized()) }
        }
    }

    // MARK: - Translation

    private func properties(_ record: DatastoreRecord) -> Keylake_Healthlake_V1_DatastoreProperties {
        .with {
            $0.datastoreID = record.id
            $0.datastoreArn = self.service.settings.datastoreARN(record.id)
            $0.datastoreName = record.name
            $0.datastoreStatus = Self.wire(record.status)
            $0.createdAt = Int64((record.createdAt.timeIntervalSince1970 * 1000).rounded())
            $0.datastoreTypeVersion = record.typeVersion
            $0.datastoreEndpoint = self.service.settings.datastoreEndpoint(record.id)
            $0.sseConfiguration = .with {
                $0.kmsEncryptionConfig = .with {
                    $0.cmkType = record.encryption.keyType == .customerManaged ? .customerManagedKmsKey : .awsOwnedKmsKey
                    $0.kmsKeyID = record.encryption.kmsKeyARN ?? ""
                }
            }
            $0.errorCause = record.errorCause ?? ""
        }
    }

    static func wire(_ status: DatastoreStatus) -> Keylake_Healthlake_V1_DatastoreStatus {
        switch status {
        case .creating: .creating
        case .active: .active
        case .deleting: .deleting
        case .deleted: .deleted
        case .createFailed: .createFailed
        }
    }

    static func wire(_ resource: FHIRService.StoredResource) -> Keylake_Healthlake_V1_ResourceResponse {
        .with {
            $0.resource = Data(resource.json)
            $0.resourceType = resource.resourceType.name
            $0.id = resource.id
            $0.versionID = String(resource.versionID)
            $0.lastUpdated = FHIRInstant.format(millisecondsSince1970: resource.lastUpdated)
            $0.created = resource.created
        }
    }
}

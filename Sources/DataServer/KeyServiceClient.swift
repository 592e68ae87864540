public import GRPCCore
public import KeylakeProto
public import KeylakeTransport
import SwiftProtobuf

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// fhird's calls to kmsd: the generated key-service client, a deadline on every call, the
/// on-behalf-of header where a call acts for the end user, and kmsd's failures turned into
/// ``KMSKeyAccessError`` naming the key and the cause.
public struct KeyServiceClient: Sendable {
    /// The generated client type over the Keylake transport.
    public typealias Client = Keylake_Kms_V1_KeyManagementService.Client<KeylakeClientTransport>

    /// The grant operations of the seed document: what a customer-managed key's grant lets the
    /// data service do.
    public static let grantOperations = [
        "CreateGrant", "Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom", "ReEncryptTo", "RetireGrant",
    ]

    private let client: Client
    private let callTimeout: Duration

    /// Wraps a key-service client; every call gets `callTimeout` as its deadline.
    public init(client: Client, callTimeout: Duration = .seconds(10)) {
        self.client = client
        self.callTimeout = callTimeout
    }

    /// Wraps a `GRPCClient` connected to kmsd; every call gets `callTimeout` as its deadline.
    public init(wrapping client: GRPCClient<KeylakeClientTransport>, callTimeout: Duration = .seconds(10)) {
        self.init(client: Client(wrapping: client), callTimeout: callTimeout)
    }

    /// No `CallOptions.timeout`: the deadline comes from the ``KeylakeTransport/TransportDeadline``
    /// scope every call runs in (see ``call(_:key:_:)``), which the transport enforces with
    /// event-loop timers rather than GRPCCore's per-call sleeping task; fhird makes one or two of
    /// these calls for every request it serves.
    private var options: CallOptions { .defaults }

    private static func metadata(onBehalfOf principal: String?) -> Metadata {
        var metadata = Metadata()
        if let principal { metadata.addString(principal, forKey: KeylakeMetadataKey.onBehalfOf) }
        return metadata
    }

    /// Runs one call within `callTimeout`, mapping its failure to ``KMSKeyAccessError``.
    private func call<T: Sendable>(_ operation: String, key: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await TransportDeadline.withTimeout(self.callTimeout) { try await body() }
        } catch let error as RPCError {
            let name = error.metadata[stringValues: KeylakeMetadataKey.errorName].first(where: { _ in true }) ?? ""
            let cause: KMSKeyAccessError.Cause
            switch error.code {
            case .unavailable, .deadlineExceeded: cause = name.isEmpty ? .unavailable : KMSKeyAccessError.Cause(exceptionName: name)
            default: cause = name.isEmpty ? .other : KMSKeyAccessError.Cause(exceptionName: name)
            }
            throw KMSKeyAccessError(
                keyARN: key, cause: cause, operation: operation, keyServiceErrorName: name.isEmpty ? "\(error.code)" : name,
                keyServiceMessage: error.message)
        }
    }

    /// `GenerateDataKey` (AES_256) as the data service itself.
    public func generateDataKey(keyID: String, context: [String: String]) async throws -> (keyARN: String, plaintext: [UInt8], wrapped: [UInt8]) {
        let response = try await self.call("GenerateDataKey", key: keyID) {
            try await self.client.generateDataKey(
                .with {
                    $0.keyID = keyID
                    $0.keySpec = "AES_256"
                    $0.encryptionContext = context
                }, metadata: Self.metadata(onBehalfOf: nil), options: self.options)
        }
        return (response.keyID, Array(response.plaintext), Array(response.ciphertextBlob))
    }

    /// `Decrypt` of a wrapped data key as the data service itself, naming the key it must be under.
    public func decrypt(keyID: String, wrapped: [UInt8], context: [String: String]) async throws -> [UInt8] {
        let response = try await self.call("Decrypt", key: keyID) {
            try await self.client.decrypt(
                .with {
                    $0.keyID = keyID
                    $0.ciphertextBlob = Data(wrapped)
                    $0.encryptionContext = context
                }, metadata: Self.metadata(onBehalfOf: nil), options: self.options)
        }
        return Array(response.plaintext)
    }

    /// `DescribeKey` on behalf of `principal`.
    public func describeKey(keyID: String, onBehalfOf principal: String) async throws -> Keylake_Kms_V1_KeyMetadata {
        try await self.call("DescribeKey", key: keyID) {
            try await self.client.describeKey(
                .with { $0.keyID = keyID }, metadata: Self.metadata(onBehalfOf: principal), options: self.options)
        }.keyMetadata
    }

    /// `CreateGrant` on behalf of `principal`: the data service becomes grantee and retiring
    /// principal with the seed document's operations; `name` makes a retry return the same grant.
    public func createGrant(keyARN: String, servicePrincipal: String, name: String, onBehalfOf principal: String) async throws -> String {
        try await self.call("CreateGrant", key: keyARN) {
            try await self.client.createGrant(
                .with {
                    $0.keyID = keyARN
                    $0.granteePrincipal = servicePrincipal
                    $0.retiringPrincipal = servicePrincipal
                    $0.operations = Self.grantOperations
                    $0.name = name
                }, metadata: Self.metadata(onBehalfOf: principal), options: self.options)
        }.grantID
    }

    /// Retires the data service's grants named `name` on `keyARN`, as their retiring principal.
    ///
    /// - Returns: How many grants were retired (0 when the grant was already revoked or retired).
    @discardableResult
    public func retireGrants(named name: String, keyARN: String, servicePrincipal: String) async throws -> Int {
        var marker = ""
        var retired = 0
        repeat {
            let page = try await self.call("ListRetirableGrants", key: keyARN) {
                try await self.client.listRetirableGrants(
                    .with {
                        $0.retiringPrincipal = servicePrincipal
                        $0.limit = 100
                        $0.marker = marker
                    }, metadata: Self.metadata(onBehalfOf: nil), options: self.options)
            }
            for grant in page.grants where grant.name == name && (grant.keyID == keyARN || keyARN.hasSuffix("/" + grant.keyID)) {
                _ = try await self.call("RetireGrant", key: keyARN) {
                    try await self.client.retireGrant(
                        .with {
                            $0.keyID = keyARN
                            $0.grantID = grant.grantID
                        }, metadata: Self.metadata(onBehalfOf: nil), options: self.options)
                }
                retired += 1
            }
            marker = page.truncated ? page.nextMarker : ""
        } while !marker.isEmpty
        return retired
    }

    /// `CreateKey` as the data service itself: kmsd makes it a service-owned key.
    ///
    /// - Returns: The key's ARN.
    public func createServiceOwnedKey(description: String) async throws -> String {
        try await self.call("CreateKey", key: "(new service-owned key)") {
            try await self.client.createKey(
                .with {
                    $0.description_p = description
                    $0.serviceOwned = true
                }, metadata: Self.metadata(onBehalfOf: nil), options: self.options)
        }.keyMetadata.arn
    }

    /// `ScheduleKeyDeletion` of a service-owned key, as the data service itself.
    public func scheduleServiceOwnedKeyDeletion(keyARN: String, pendingWindowInDays: Int32) async throws {
        _ = try await self.call("ScheduleKeyDeletion", key: keyARN) {
            try await self.client.scheduleKeyDeletion(
                .with {
                    $0.keyID = keyARN
                    $0.pendingWindowInDays = pendingWindowInDays
                }, metadata: Self.metadata(onBehalfOf: nil), options: self.options)
        }
    }
}

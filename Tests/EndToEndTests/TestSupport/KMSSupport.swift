import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Testing

/// The generated key-service client over the Keylake mTLS transport.
typealias KMSClient = Keylake_Kms_V1_KeyManagementService.Client<KeylakeClientTransport>

/// Principals of a development home (see docs/operations.md, "Development home").
enum KMSPrincipals {
    static let account = "111122223333"
    /// `admin`: the account root, which the default key policy lets do everything.
    static let root = "arn:aws:iam::111122223333:root"
    /// `app`: the role of the seed document's policy statement.
    static let app = "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"
    /// `fhird`: the registered service principal.
    static let healthLake = "healthlake.amazonaws.com"
    /// A principal of the account that has no identity in the home.
    static let someoneElse = "arn:aws:iam::111122223333:role/SomeoneElse"
}

/// Key policy documents used by the KMS end-to-end tests.
enum KMSPolicies {
    /// The default key policy's statement: the account root may do everything.
    static let rootStatement = #"""
        {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}
        """#

    /// The seed document's statement, verbatim.
    static let seedStatement = #"""
        {"Sid":"Allow access through Amazon HealthLake for all principals in the account that are authorized to use Amazon HealthLake","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:CreateGrant","kms:DescribeKey"],"Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"healthlake.amazonaws.com","kms:CallerAccount":"111122223333"}}}
        """#

    /// A policy document made of `statements`.
    static func document(_ statements: String...) -> String {
        #"{"Version":"2012-10-17","Id":"keylake-e2e","Statement":["# + statements.joined(separator: ",") + "]}"
    }

    /// The root statement plus the seed statement.
    static var seedPolicy: String { self.document(self.rootStatement, self.seedStatement) }
}

/// A `keylake dev up` system: real kmsd and fhird on a fresh home in a test workspace.
struct KMSDevSystem: Sendable {
    let devUp: Subprocess
    let home: String
    let kmsdPort: Int

    /// Starts `keylake dev up --dir WORKSPACE/home` and waits until both daemons are ready.
    static func start(in workspace: Workspace, principals: [String] = []) async throws -> KMSDevSystem {
        let home = workspace.path("home")
        let arguments = ["dev", "up", "--dir", home] + principals.flatMap { ["--principal", $0] }
        let devUp = try workspace.startKeylake(arguments)
        // Two daemons (and a PKI) starting on a loaded machine: only a hang should run this out.
        try await devUp.waitForOutput(containing: "both daemons ready", timeout: .seconds(180))
        return KMSDevSystem(devUp: devUp, home: home, kmsdPort: try configuredPort("\(home)/kmsd.json"))
    }

    /// Runs `body` with a key-service client connected as the home's identity `identity`.
    @discardableResult
    func withClient<T: Sendable>(as identity: String, _ body: (KMSClient) async throws -> T) async throws -> T {
        try await withKMSClient(home: self.home, port: self.kmsdPort, as: identity, body)
    }

    /// The kmsd process below dev up, if it is running.
    var kmsdPID: Int32? {
        ProcessTable.children(of: self.devUp.pid).first { ProcessTable.commandLine($0)?.contains("daemon kmsd") == true }
    }

    /// SIGTERM to dev up; returns its exit status (nil if it did not stop within 120 s).
    func stop() async -> Int32? {
        self.devUp.terminate()
        return await self.devUp.waitForExit(timeout: .seconds(120))
    }
}

/// Runs `body` with a key-service client on its own connection to 127.0.0.1:`port`, presenting the
/// certificate of `identity` from HOME/pki.
@discardableResult
func withKMSClient<T: Sendable>(
    home: String, port: Int, as identity: String, _ body: (KMSClient) async throws -> T
) async throws -> T {
    try await withHomeClient(home: home, port: port, as: identity) { try await body(KMSClient(wrapping: $0)) }
}

/// Runs `body` with `count` key-service clients of `identity`, each on its own connection.
func withKMSClients<T: Sendable>(
    _ count: Int, home: String, port: Int, as identity: String, _ body: ([KMSClient]) async throws -> T
) async throws -> T {
    try await withHomeClients(count, home: home, port: port, as: identity) { try await body($0.map { KMSClient(wrapping: $0) }) }
}

extension Metadata {
    /// Call metadata with a request id of our own and, optionally, an on-behalf-of principal.
    static func kms(requestID: String? = nil, onBehalfOf: String? = nil) -> Metadata {
        var metadata = Metadata()
        if let requestID { metadata.addString(requestID, forKey: KeylakeMetadataKey.requestID) }
        if let onBehalfOf { metadata.addString(onBehalfOf, forKey: KeylakeMetadataKey.onBehalfOf) }
        return metadata
    }
}

extension CallOptions {
    /// Every test call has a deadline, so a hung daemon fails the test instead of stalling it;
    /// none of these tests is about deadlines, so it is long enough for a loaded CI machine.
    static var kmsTest: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(120)
        return options
    }
}

/// A new request id, recognisable in the audit trail.
func kmsRequestID(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.lowercased())"
}

/// A failed key-service call as a client sees it: gRPC code and the AWS exception name from the
/// `keylake-error-name` trailer.
struct KMSCallFailure: Error, Sendable, CustomStringConvertible {
    var code: RPCError.Code
    var name: String
    var message: String

    init(_ error: RPCError) {
        self.code = error.code
        self.name = error.metadata[stringValues: KeylakeMetadataKey.errorName].first(where: { _ in true }) ?? ""
        self.message = error.message
    }

    var description: String { "\(self.code) \(self.name.isEmpty ? "(no error name)" : self.name): \(self.message)" }
}

/// Runs `body`; returns nil when it succeeds, the failure when it throws an `RPCError`.
///
/// - Throws: any other error.
func kmsFailure<T>(_ body: () async throws -> T) async throws -> KMSCallFailure? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return KMSCallFailure(error)
    }
}

/// Expects `body` to fail with gRPC `code` and AWS error `name`; returns the failure.
@discardableResult
func expectKMSError<T>(
    _ code: RPCError.Code, _ name: String, _ comment: Comment? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async throws -> KMSCallFailure? {
    let failure = try await kmsFailure(body)
    let context = comment.map { "\($0): " } ?? ""
    guard let failure else {
        Issue.record("\(context)expected \(code) \(name), but the call succeeded", sourceLocation: sourceLocation)
        return nil
    }
    #expect(failure.code == code, "\(context)\(failure)", sourceLocation: sourceLocation)
    #expect(failure.name == name, "\(context)\(failure)", sourceLocation: sourceLocation)
    return failure
}

/// One audit event as LookupEvents returns it, with the CloudTrail fields the tests look at.
struct KMSAuditEvent: Sendable, CustomStringConvertible {
    var eventID: String
    var eventName: String
    var username: String
    /// The CloudTrail-shaped JSON exactly as stored.
    var document: String
    var requestID: String?
    var errorCode: String?
    var invokedBy: String?
    var userARN: String?
    var userType: String?
    /// Top-level member names of the document.
    var fields: Set<String>
    var additionalEventData: [String: String]
    var requestParameters: [String: String]

    init(_ event: Keylake_Kms_V1_AuditEvent) {
        self.eventID = event.eventID
        self.eventName = event.eventName
        self.username = event.username
        self.document = event.cloudTrailEvent
        let object = (try? JSONSerialization.jsonObject(with: Data(event.cloudTrailEvent.utf8))) as? [String: Any] ?? [:]
        let identity = object["userIdentity"] as? [String: Any] ?? [:]
        self.requestID = object["requestID"] as? String
        self.errorCode = object["errorCode"] as? String
        self.invokedBy = identity["invokedBy"] as? String
        self.userARN = identity["arn"] as? String
        self.userType = identity["type"] as? String
        self.fields = Set(object.keys)
        self.additionalEventData = Self.strings(object["additionalEventData"])
        self.requestParameters = Self.strings(object["requestParameters"])
    }

    private static func strings(_ value: Any?) -> [String: String] {
        guard let object = value as? [String: Any] else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in object {
            if let text = value as? String { result[key] = text } else { result[key] = "\(value)" }
        }
        return result
    }

    var description: String { self.document }
}

/// Every event LookupEvents returns for the filter, newest first, paging through `nextToken`.
func kmsLookupAllEvents(
    _ client: KMSClient, eventName: String? = nil, username: String? = nil, maxPages: Int = 1000
) async throws -> [KMSAuditEvent] {
    var attributes: [Keylake_Kms_V1_LookupAttribute] = []
    if let eventName { attributes.append(.make { $0.attributeKey = "EventName"; $0.attributeValue = eventName }) }
    if let username { attributes.append(.make { $0.attributeKey = "Username"; $0.attributeValue = username }) }
    var events: [KMSAuditEvent] = []
    var token = ""
    for _ in 0..<maxPages {
        let request = Keylake_Kms_V1_LookupEventsRequest.make {
            $0.lookupAttributes = attributes
            $0.maxResults = 1000
            $0.nextToken = token
        }
        let page = try await client.lookupEvents(request, options: .kmsTest)
        events += page.events.map(KMSAuditEvent.init)
        token = page.nextToken
        if token.isEmpty { return events }
    }
    throw HarnessError("LookupEvents still had pages after \(maxPages) pages (\(events.count) events)")
}

/// Asks kmsd to verify its audit chain and expects it intact; returns the number of events checked.
@discardableResult
func expectAuditChainValid(_ client: KMSClient, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int64 {
    let verification = try await client.verifyAuditChain(.init(), options: .kmsTest)
    #expect(
        verification.valid,
        "audit chain broken at \(verification.firstBadSequence): \(verification.problem)", sourceLocation: sourceLocation)
    #expect(verification.eventsChecked > 0, sourceLocation: sourceLocation)
    return verification.eventsChecked
}

/// Creates a customer-managed key (default policy unless `policy` is given) and returns its id.
func kmsCreateKey(_ client: KMSClient, description: String = "e2e", policy: String? = nil) async throws -> Keylake_Kms_V1_KeyMetadata {
    let request = Keylake_Kms_V1_CreateKeyRequest.make {
        $0.description_p = description
        if let policy { $0.policy = policy }
    }
    return try await client.createKey(request, options: .kmsTest).keyMetadata
}

/// A keylake daemon started directly (`keylake daemon kmsd --config FILE`), not under dev up.
struct KMSStandaloneDaemon: Sendable {
    let process: Subprocess

    /// Starts kmsd on `config` and waits for its "kmsd ready on" line.
    static func start(_ workspace: Workspace, config: String) async throws -> KMSStandaloneDaemon {
        let process = try workspace.startKeylake(["daemon", "kmsd", "--config", config])
        try await process.waitForOutput(containing: "kmsd ready on", timeout: .seconds(120))
        return KMSStandaloneDaemon(process: process)
    }
}

/// The `kmsd` executable that the build put next to `keylake`.
func kmsdExecutable(_ workspace: Workspace) throws -> String {
    let path = URL(fileURLWithPath: workspace.keylakeExecutable).deletingLastPathComponent().appendingPathComponent("kmsd").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw HarnessError("no kmsd executable at \(path); run `swift build --build-tests` first")
    }
    return path
}

/// Creates a home with `keylake dev up --dir WORKSPACE/home` and stops it again once both
/// daemons were ready; returns the home directory.
func kmsMakeHome(_ workspace: Workspace) async throws -> String {
    let system = try await KMSDevSystem.start(in: workspace)
    let status = await system.stop()
    guard status == 0 else { throw HarnessError("dev up did not stop cleanly\n\(system.devUp.transcript)") }
    return system.home
}

/// Base64 and lower-case hex of some bytes: the forms in which a secret could leak into a document.
func kmsEncodings(of bytes: Data) -> [String] {
    [bytes.base64EncodedString(), bytes.map { String(format: "%02x", $0) }.joined()]
}

/// `Message.with` without importing SwiftProtobuf (not a declared dependency of this test
/// target): `.make { $0.keyID = id }`.
protocol KMSMessageBuilding {
    init()
}

extension KMSMessageBuilding {
    static func make(_ populate: (inout Self) throws -> Void) rethrows -> Self {
        var message = Self()
        try populate(&message)
        return message
    }
}

extension Keylake_Kms_V1_CreateKeyRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_DescribeKeyRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_ListKeysRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_EnableKeyRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_DisableKeyRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_ScheduleKeyDeletionRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_CancelKeyDeletionRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_UpdateKeyDescriptionRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_EnableKeyRotationRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_DisableKeyRotationRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_GetKeyRotationStatusRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_RotateKeyOnDemandRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_ListKeyRotationsRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_CreateAliasRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_UpdateAliasRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_DeleteAliasRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_ListAliasesRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_TagResourceRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_UntagResourceRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_ListResourceTagsRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_Tag: KMSMessageBuilding {}
extension Keylake_Kms_V1_PutKeyPolicyRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_GetKeyPolicyRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_ListKeyPoliciesRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_EncryptRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_DecryptRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_ReEncryptRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_GenerateDataKeyRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_GenerateRandomRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_CreateGrantRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_GrantConstraints: KMSMessageBuilding {}
extension Keylake_Kms_V1_ListGrantsRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_ListRetirableGrantsRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_RetireGrantRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_RevokeGrantRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_LookupEventsRequest: KMSMessageBuilding {}
extension Keylake_Kms_V1_LookupAttribute: KMSMessageBuilding {}
extension Keylake_Kms_V1_VerifyAuditChainRequest: KMSMessageBuilding {}

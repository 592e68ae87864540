import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Testing

/// The generated HealthLake client over the Keylake mTLS transport.
typealias FHIRClient = Keylake_Healthlake_V1_HealthLakeService.Client<KeylakeClientTransport>

/// Runs `body` with a HealthLake client on its own connection to 127.0.0.1:`port`, presenting the
/// certificate of `identity` from HOME/pki.
@discardableResult
func withFHIRClient<T: Sendable>(
    home: String, port: Int, as identity: String, _ body: (FHIRClient) async throws -> T
) async throws -> T {
    try await withHomeClient(home: home, port: port, as: identity) { try await body(FHIRClient(wrapping: $0)) }
}

/// Runs `body` with `count` HealthLake clients of `identity`, each on its own connection.
func withFHIRClients<T: Sendable>(
    _ count: Int, home: String, port: Int, as identity: String, _ body: ([FHIRClient]) async throws -> T
) async throws -> T {
    try await withHomeClients(count, home: home, port: port, as: identity) { try await body($0.map { FHIRClient(wrapping: $0) }) }
}

extension KMSDevSystem {
    /// fhird's port, from the home's fhird.json.
    var fhirdPort: Int {
        get throws { try configuredPort("\(self.home)/fhird.json") }
    }

    /// Runs `body` with a HealthLake client connected to fhird as the home's identity `identity`.
    @discardableResult
    func withFHIR<T: Sendable>(as identity: String, _ body: (FHIRClient) async throws -> T) async throws -> T {
        try await withFHIRClient(home: self.home, port: try self.fhirdPort, as: identity, body)
    }

    /// The fhird process below dev up, if it is running.
    var fhirdPID: Int32? {
        ProcessTable.children(of: self.devUp.pid).first { ProcessTable.commandLine($0)?.contains("daemon fhird") == true }
    }
}

/// A failed fhird call as a client sees it: gRPC code, the error name from `keylake-error-name`
/// and the OperationOutcome JSON from `keylake-operation-outcome`.
struct FHIRCallFailure: Error, Sendable, CustomStringConvertible {
    var code: RPCError.Code
    var name: String
    var message: String
    var outcome: String

    init(_ error: RPCError) {
        self.code = error.code
        self.name = error.metadata[stringValues: KeylakeMetadataKey.errorName].first(where: { _ in true }) ?? ""
        self.message = error.message
        self.outcome = error.metadata[stringValues: "keylake-operation-outcome"].first(where: { _ in true }) ?? ""
    }

    var description: String { "\(self.code) \(self.name.isEmpty ? "(no error name)" : self.name): \(self.message)" }
}

/// Runs `body`; nil when it succeeds, the failure when it throws an `RPCError`.
func fhirFailure<T>(_ body: () async throws -> T) async throws -> FHIRCallFailure? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return FHIRCallFailure(error)
    }
}

/// Expects `body` to fail with error name `name`; returns the failure.
@discardableResult
func expectFHIRError<T>(
    _ name: String, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async throws -> FHIRCallFailure? {
    let failure = try await fhirFailure(body)
    let context = comment.map { "\($0): " } ?? ""
    guard let failure else {
        Issue.record("\(context)expected \(name), but the call succeeded", sourceLocation: sourceLocation)
        return nil
    }
    #expect(failure.name == name, "\(context)\(failure)", sourceLocation: sourceLocation)
    return failure
}

extension CallOptions {
    /// Every fhird test call has a deadline, so a hung daemon fails the test instead of stalling it;
    /// none of these tests is about deadlines, so it is long enough for a loaded CI machine.
    static var fhirTest: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(120)
        return options
    }
}

/// Test data and set-up for fhird end-to-end tests.
enum FHIRTestData {
    /// A small Patient whose family name is `family`.
    static func patient(family: String, birthDate: String = "1970-01-01") -> Data {
        Data(#"{"resourceType":"Patient","name":[{"family":"\#(family)","given":["Ann"]}],"gender":"female","birthDate":"\#(birthDate)"}"#.utf8)
    }

    /// The same Patient with an id (for update).
    static func patient(id: String, family: String) -> Data {
        Data(#"{"resourceType":"Patient","id":"\#(id)","name":[{"family":"\#(family)","given":["Ann"]}],"gender":"female","birthDate":"1970-01-01"}"#.utf8)
    }

    /// A Synthea-shaped vital-sign Observation for `patientID`.
    static func observation(patientID: String, value: Int) -> Data {
        Data(
            (#"{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"#
                + #""code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body Weight"}]},"subject":{"reference":"Patient/\#(patientID)"},"#
                + #""effectiveDateTime":"2020-01-01T10:00:00Z","valueQuantity":{"value":\#(value),"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}"#).utf8)
    }

    /// Creates a customer-managed key with the seed policy (as admin) and a datastore under it
    /// (as app); returns the datastore id and the key ARN.
    static func cmkDatastore(_ system: KMSDevSystem, name: String) async throws -> (datastoreID: String, keyARN: String) {
        try await self.cmkDatastore(home: system.home, kmsdPort: system.kmsdPort, fhirdPort: try system.fhirdPort, name: name)
    }

    /// The same against daemons of `home` listening on the given ports.
    static func cmkDatastore(home: String, kmsdPort: Int, fhirdPort: Int, name: String) async throws -> (datastoreID: String, keyARN: String) {
        let key = try await withKMSClient(home: home, port: kmsdPort, as: "admin") { admin in
            let key = try await kmsCreateKey(admin, description: "fhird e2e \(name)")
            _ = try await admin.putKeyPolicy(
                .make { $0.keyID = key.keyID; $0.policyName = "default"; $0.policy = KMSPolicies.seedPolicy }, options: .kmsTest)
            return key
        }
        let created = try await withFHIRClient(home: home, port: fhirdPort, as: "app") { app in
            try await app.createFHIRDatastore(
                .make {
                    $0.datastoreName = name
                    $0.sseConfiguration = .make {
                        $0.kmsEncryptionConfig = .make { $0.cmkType = .customerManagedKmsKey; $0.kmsKeyID = key.arn }
                    }
                }, options: .fhirTest)
        }
        return (created.datastoreID, key.arn)
    }
}

/// A daemon started directly (`keylake daemon kmsd|fhird --config FILE`), not under dev up.
struct FHIRStandaloneDaemon: Sendable {
    let process: Subprocess

    /// Starts `kind` ("kmsd" or "fhird") on `config` and waits for its ready line.
    static func start(_ workspace: Workspace, _ kind: String, config: String) async throws -> FHIRStandaloneDaemon {
        let process = try workspace.startKeylake(["daemon", kind, "--config", config])
        try await process.waitForOutput(containing: "\(kind) ready on", timeout: .seconds(120))
        return FHIRStandaloneDaemon(process: process)
    }
}

extension Keylake_Healthlake_V1_CreateFHIRDatastoreRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_DescribeFHIRDatastoreRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_ListFHIRDatastoresRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_DatastoreFilter: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_DeleteFHIRDatastoreRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_TagResourceRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_UntagResourceRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_ListTagsForResourceRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_Tag: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_SseConfiguration: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_KmsEncryptionConfig: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_CreateResourceRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_ReadResourceRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_VReadResourceRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_UpdateResourceRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_DeleteResourceRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_ResourceHistoryRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_SearchParameter: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_SearchResourcesRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_ProcessBundleRequest: KMSMessageBuilding {}
extension Keylake_Healthlake_V1_CapabilitiesRequest: KMSMessageBuilding {}

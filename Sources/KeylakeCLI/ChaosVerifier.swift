import Foundation
import GRPCCore
import KeylakeChaos
import KeylakeDevPKI
import KeylakeProto
import KeylakeTransport
import SwiftProtobuf

/// After the load: reads back every acknowledged write, searches for traces of failed creates,
/// and collects the customer-managed key's audit trail and the chain's verdict.
struct ChaosVerifier: Sendable {
    typealias KMS = Keylake_Kms_V1_KeyManagementService.Client<KeylakeClientTransport>
    typealias HealthLake = Keylake_Healthlake_V1_HealthLakeService.Client<KeylakeClientTransport>

    var admin: KMS
    var fhir: HealthLake
    var datastoreID: String
    var keyARN: String
    var recorder: ChaosRecorder

    /// Verifies `operations`' writes. `accessNote` says how the data service could use the key.
    func verifyWrites(_ operations: [OperationRecord], accessNote: String) async throws -> WriteVerification {
        var seen = Set<String>()
        var reads: [WriteVerification.ReadBack] = []
        for operation in operations where operation.kind.isWrite && operation.succeeded && !operation.resourceID.isEmpty {
            guard seen.insert(operation.resourceID).inserted else { continue }
            let id = operation.resourceID
            do {
                let response = try await ChaosRetry.call("reading Patient/\(id)") {
                    try await self.fhir.readResource(
                        .with {
                            $0.datastoreID = self.datastoreID
                            $0.resourceType = operation.resourceType
                            $0.id = id
                        }, options: .cli)
                }
                reads.append(.init(resourceType: operation.resourceType, resourceID: id, contentDigest: ContentDigest.of(response.resource), errorName: nil))
            } catch let error as CLIError {
                reads.append(
                    .init(resourceType: operation.resourceType, resourceID: id, contentDigest: nil, errorName: error.description))
            }
        }
        var searches: [WriteVerification.MarkerSearch] = []
        for operation in operations where (operation.kind == .create || operation.kind == .bundle) && operation.completed != nil && operation.errorName != nil {
            guard let marker = operation.marker else { continue }
            do {
                let found = try await ChaosRetry.call("searching for marker \(marker)") {
                    try await self.fhir.searchResources(
                        .with {
                            $0.datastoreID = self.datastoreID
                            $0.resourceType = operation.resourceType
                            $0.parameters = [.with { $0.name = "identifier"; $0.value = marker }]
                        }, options: .cli)
                }
                searches.append(.init(operation: operation.sequence, foundIDs: found.ids, errorName: nil))
            } catch let error as CLIError {
                searches.append(.init(operation: operation.sequence, foundIDs: [], errorName: error.description))
            }
        }
        return WriteVerification(reads: reads, markerSearches: searches, accessNote: accessNote)
    }

    /// The key's audit events (oldest first) and the chain's verdict.
    func collectAudit() async throws -> AuditEvidence {
        let events = try await auditEventsOldestFirst(keyARN: self.keyARN, pageSize: 1000) { request in
            try await ChaosRetry.call("LookupEvents") { try await self.admin.lookupEvents(request, options: .cli) }
        }
        let formatter = ISO8601DateFormatter()
        let facts = events.enumerated().map { position, event in
            let object = (try? JSONSerialization.jsonObject(with: Data(event.cloudTrailEvent.utf8))) as? [String: Any] ?? [:]
            let identity = object["userIdentity"] as? [String: Any] ?? [:]
            let precise = Self.millisecondTime(ofEventID: event.eventID)
            let time = precise ?? (object["eventTime"] as? String).flatMap { formatter.date(from: $0) }
                ?? Date(timeIntervalSince1970: TimeInterval(event.eventTime))
            return AuditFact(
                position: position, eventName: event.eventName, time: time.timeIntervalSince(self.recorder.startDate), timePrecise: precise != nil,
                byDataService: identity["invokedBy"] as? String == DevPKI.fhirdPrincipal, errorCode: object["errorCode"] as? String)
        }
        let chain = try await ChaosRetry.call("VerifyAuditChain") { try await self.admin.verifyAuditChain(.init(), options: .cli) }
        return AuditEvidence(facts: facts, chainValid: chain.valid, eventsChecked: Int(chain.eventsChecked), chainProblem: chain.problem)
    }

    /// The millisecond time in a version-7 UUID event id (its first 48 bits), or `nil` for any
    /// other id: kmsd's `eventTime` has whole seconds only.
    static func millisecondTime(ofEventID id: String) -> Date? {
        let hex = id.filter { $0 != "-" }
        guard hex.count == 32, hex.allSatisfy(\.isHexDigit), hex[hex.index(hex.startIndex, offsetBy: 12)] == "7",
            let milliseconds = UInt64(hex.prefix(12), radix: 16)
        else { return nil }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

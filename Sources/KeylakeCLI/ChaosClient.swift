import Foundation
import GRPCCore
import KeylakeChaos
import KeylakeProto
import KeylakeTransport
import SwiftProtobuf

/// One load client of a chaos run: a closed loop of seeded FHIR operations against the
/// customer-managed-key datastore, every call with a deadline and recorded.
///
/// A client updates only the resources it created, one call at a time, so the order of writes to
/// each resource is known and the checker can tell which content is the acknowledged one.
struct ChaosClient: Sendable {
    typealias HealthLake = Keylake_Healthlake_V1_HealthLakeService.Client<KeylakeClientTransport>

    /// Family names of the synthetic patients (made up; no real data).
    static let familyNames = ["Chaosfield", "Faultman", "Seedwell", "Grantley"]

    var index: Int
    var schedule: ChaosSchedule
    var recorder: ChaosRecorder
    var fhir: HealthLake
    var datastoreID: String
    /// Deadline of each call, in seconds.
    var deadline: Double
    /// Pause between calls, so N clients do not starve the daemons on a small machine.
    var thinkTime: Duration
    /// Whether the mix includes `ProcessBundle` transactions (each creating one patient).
    var bundles: Bool

    var options: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .milliseconds(Int64(self.deadline * 1000))
        return options
    }

    /// A new patient carrying `marker` as its identifier.
    static func patient(marker: String, family: String, given: String, birthDate: String, id: String? = nil) -> Data {
        let idMember = id.map { #""id":"\#($0)","# } ?? ""
        return Data(
            (#"{"resourceType":"Patient",\#(idMember)"identifier":[{"system":"urn:keylake:chaos","value":"\#(marker)"}],"#
                + #""name":[{"family":"\#(family)","given":["\#(given)"]}],"gender":"unknown","birthDate":"\#(birthDate)"}"#).utf8)
    }

    /// A transaction Bundle with one entry creating `patient`.
    static func transaction(creating patient: Data) -> Data {
        Data(
            (#"{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:\#(UUID().uuidString.lowercased())","resource":"#
                + String(decoding: patient, as: UTF8.self) + #","request":{"method":"POST","url":"Patient"}}]}"#).utf8)
    }

    /// The id of the resource a one-entry transaction created: its `response.location`
    /// (`Patient/ID/_history/1`).
    static func createdID(inTransactionResponse bundle: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: bundle) as? [String: Any],
            let entries = object["entry"] as? [[String: Any]], entries.count == 1,
            let response = entries[0]["response"] as? [String: Any], let location = response["location"] as? String
        else { return nil }
        let parts = location.split(separator: "/")
        return parts.count >= 2 && parts[0] == "Patient" ? String(parts[1]) : nil
    }

    /// Runs until `end` or cancellation.
    func run(until end: ContinuousClock.Instant) async {
        var generator = self.schedule.generator(forClient: self.index)
        // Acknowledged resources of this client: id, marker, family, revision.
        var resources: [(id: String, marker: String, family: String, revision: Int)] = []
        var created = 0
        while ContinuousClock.now < end, !Task.isCancelled {
            let kind = ChaosSchedule.nextKind(using: &generator, hasResources: !resources.isEmpty, bundles: self.bundles)
            let family = Self.familyNames[ChaosSchedule.nextIndex(using: &generator, below: Self.familyNames.count)]
            switch kind {
            case .create:
                created += 1
                let marker = "chaos-\(self.index)-\(created)"
                let body = Self.patient(marker: marker, family: family, given: "Client\(self.index)", birthDate: "1970-01-01")
                let sequence = self.recorder.begin(
                    client: self.index, kind: .create, marker: marker, deadline: self.deadline, contentDigest: ContentDigest.of(body))
                do {
                    let response = try await self.fhir.createResource(
                        .with {
                            $0.datastoreID = self.datastoreID
                            $0.resource = body
                        }, options: self.options)
                    self.recorder.finish(sequence, errorName: nil, resourceID: response.id)
                    resources.append((response.id, marker, family, 0))
                } catch {
                    self.recorder.finish(sequence, errorName: ChaosErrorName.of(error))
                }
            case .read, .update:
                let position = ChaosSchedule.nextIndex(using: &generator, below: resources.count)
                let resource = resources[position]
                if kind == .read {
                    let sequence = self.recorder.begin(client: self.index, kind: .read, resourceID: resource.id, deadline: self.deadline)
                    do {
                        _ = try await self.fhir.readResource(
                            .with {
                                $0.datastoreID = self.datastoreID
                                $0.resourceType = "Patient"
                                $0.id = resource.id
                            }, options: self.options)
                        self.recorder.finish(sequence, errorName: nil)
                    } catch {
                        self.recorder.finish(sequence, errorName: ChaosErrorName.of(error))
                    }
                } else {
                    let revision = resource.revision + 1
                    // Every update writes content no other write has: the revision is in it.
                    resources[position].revision = revision
                    let body = Self.patient(
                        marker: resource.marker, family: resource.family, given: "Revision\(revision)",
                        birthDate: "19\(10 + revision % 90)-01-01", id: resource.id)
                    let sequence = self.recorder.begin(
                        client: self.index, kind: .update, resourceID: resource.id, deadline: self.deadline, contentDigest: ContentDigest.of(body))
                    do {
                        _ = try await self.fhir.updateResource(
                            .with {
                                $0.datastoreID = self.datastoreID
                                $0.resourceType = "Patient"
                                $0.id = resource.id
                                $0.resource = body
                            }, options: self.options)
                        self.recorder.finish(sequence, errorName: nil)
                    } catch {
                        self.recorder.finish(sequence, errorName: ChaosErrorName.of(error))
                    }
                }
            case .bundle:
                created += 1
                let marker = "chaos-\(self.index)-\(created)"
                let patient = Self.patient(marker: marker, family: family, given: "Bundle\(self.index)", birthDate: "1980-01-01")
                let sequence = self.recorder.begin(
                    client: self.index, kind: .bundle, marker: marker, deadline: self.deadline, contentDigest: ContentDigest.of(patient))
                do {
                    let response = try await self.fhir.processBundle(
                        .with {
                            $0.datastoreID = self.datastoreID
                            $0.bundle = Self.transaction(creating: patient)
                        }, options: self.options)
                    guard let id = Self.createdID(inTransactionResponse: response.bundle) else {
                        self.recorder.finish(sequence, errorName: "MalformedBundleResponse")
                        break
                    }
                    self.recorder.finish(sequence, errorName: nil, resourceID: id)
                    resources.append((id, marker, family, 0))
                } catch {
                    self.recorder.finish(sequence, errorName: ChaosErrorName.of(error))
                }
            case .search, .probe:
                let sequence = self.recorder.begin(client: self.index, kind: .search, deadline: self.deadline)
                do {
                    _ = try await self.fhir.searchResources(
                        .with {
                            $0.datastoreID = self.datastoreID
                            $0.resourceType = "Patient"
                            $0.parameters = [.with { $0.name = "family"; $0.value = family }]
                            $0.count = 10
                        }, options: self.options)
                    self.recorder.finish(sequence, errorName: nil)
                } catch {
                    self.recorder.finish(sequence, errorName: ChaosErrorName.of(error))
                }
            }
            try? await Task.sleep(for: self.thinkTime)
        }
    }
}

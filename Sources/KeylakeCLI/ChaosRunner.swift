import Foundation
import GRPCCore
import KeylakeChaos
import KeylakeDevPKI
import KeylakeProto
import KeylakeTransport
import SwiftProtobuf

/// One chaos run: set-up (a customer-managed key with the seed policy, a datastore under it),
/// seeded load by concurrent clients with the fault injected at the schedule's moment, recovery
/// probes, verification of writes and of the audit trail, and the report.
struct ChaosRunner: Sendable {
    typealias KMS = Keylake_Kms_V1_KeyManagementService.Client<KeylakeClientTransport>
    typealias HealthLake = Keylake_Healthlake_V1_HealthLakeService.Client<KeylakeClientTransport>

    var scenario: ChaosScenario
    var clients: Int
    var duration: Double
    var seed: UInt64
    /// Deadline of every load call, seconds.
    var deadline: Double
    var thinkTime: Duration
    /// Whether clients send `ProcessBundle` transactions.
    var bundles: Bool
    var checker: InvariantChecker
    /// Progress lines on stdout.
    var progress: @Sendable (String) -> Void

    /// Runs the scenario against `deployment`.
    func run(_ deployment: ChaosDeployment) async throws -> ChaosReport {
        let home = deployment.home
        return try await withDemoClient(home, .kmsd, as: "admin") { adminClient in
            try await withDemoClient(home, .kmsd, as: DaemonKind.fhird.rawValue) { serviceClient in
                try await withDemoClient(home, .fhird, as: "app") { appClient in
                    try await self.run(
                        deployment: deployment, admin: KMS(wrapping: adminClient), dataService: KMS(wrapping: serviceClient),
                        fhir: HealthLake(wrapping: appClient))
                }
            }
        }
    }

    private func run(deployment: ChaosDeployment, admin: KMS, dataService: KMS, fhir: HealthLake) async throws -> ChaosReport {
        // Set-up, as the seed document: the account root makes the key, the role the datastore.
        let key = try await demoCall("CreateKey") {
            try await admin.createKey(.with { $0.description_p = "keylake chaos \(self.scenario.rawValue) seed \(self.seed)" }, options: .cli)
        }.keyMetadata
        _ = try await demoCall("PutKeyPolicy") {
            try await admin.putKeyPolicy(.with { $0.keyID = key.keyID; $0.policyName = "default"; $0.policy = Demo.keyPolicy }, options: .cli)
        }
        let datastore = try await ChaosRetry.call("CreateFHIRDatastore") {
            try await fhir.createFHIRDatastore(
                .with {
                    $0.datastoreName = "chaos-\(self.scenario.rawValue)"
                    $0.sseConfiguration.kmsEncryptionConfig.cmkType = .customerManagedKmsKey
                    $0.sseConfiguration.kmsEncryptionConfig.kmsKeyID = key.arn
                }, options: .cli)
        }
        let grants = try await demoCall("ListGrants") { try await admin.listGrants(.with { $0.keyID = key.keyID }, options: .cli) }.grants
        guard let grant = grants.first(where: { $0.granteePrincipal == DevPKI.fhirdPrincipal && $0.name.hasSuffix(datastore.datastoreID) }) else {
            throw CLIError("the data service made no grant for datastore \(datastore.datastoreID)")
        }
        self.progress("key \(key.keyID), datastore \(datastore.datastoreID) (customer-managed key), grant \(grant.grantID)")

        // Load and fault.
        let schedule = ChaosSchedule(seed: self.seed, duration: self.duration)
        let recorder = ChaosRecorder()
        let injector = ChaosFaultInjector(
            scenario: self.scenario, deployment: deployment, admin: admin, dataService: dataService, keyID: key.keyID, grantID: grant.grantID)
        self.progress(
            "load: \(self.clients) clients for \(InvariantChecker.format(self.duration)) s; fault at \(InvariantChecker.format(schedule.faultAt)) s"
                + (self.scenario.isReversible ? ", healed \(InvariantChecker.format(schedule.faultHold)) s later" : ""))
        async let faultResult = Self.runFault(injector, schedule: schedule, recorder: recorder)
        await self.runLoad(schedule: schedule, recorder: recorder, fhir: fhir, datastoreID: datastore.datastoreID)
        let fault = try await faultResult.get()
        self.progress("load done: \(recorder.snapshot().count) operations")

        // Recovery probes, when nothing succeeded after healing yet.
        await self.probeRecovery(fault: fault, recorder: recorder, fhir: fhir, datastoreID: datastore.datastoreID)
        let operations = recorder.snapshot()

        // Verification: access back (a new grant after revoke/retire), writes, audit.
        var accessNote = self.scenario.isReversible ? "verified after healing" : ""
        if !self.scenario.isReversible {
            _ = try await ChaosRetry.call("CreateGrant for verification") {
                try await admin.createGrant(
                    .with {
                        $0.keyID = key.keyID
                        $0.granteePrincipal = DevPKI.fhirdPrincipal
                        $0.retiringPrincipal = DevPKI.fhirdPrincipal
                        $0.operations = grant.operations
                        $0.name = "keylake-chaos-verification"
                    }, options: .cli)
            }
            accessNote = "verified with a new grant from the account root"
        }
        let verifier = ChaosVerifier(admin: admin, fhir: fhir, datastoreID: datastore.datastoreID, keyARN: key.arn, recorder: recorder)
        var verification: WriteVerification?
        do {
            verification = try await verifier.verifyWrites(operations, accessNote: accessNote)
        } catch {
            self.progress("verification failed: \(error)")
        }
        var audit: AuditEvidence?
        do {
            audit = try await verifier.collectAudit()
        } catch {
            self.progress("audit collection failed: \(error)")
        }
        let history = ChaosHistory(
            scenario: self.scenario, seed: self.seed, clients: self.clients, loadEnded: self.duration, operations: operations, fault: fault,
            verification: verification, audit: audit)
        return ChaosReport(history: history, duration: self.duration, checker: self.checker)
    }

    /// Runs the clients until the end of the load. Calls still running long after it (their
    /// deadline and the grace passed) are left as hung and their tasks cancelled.
    private func runLoad(schedule: ChaosSchedule, recorder: ChaosRecorder, fhir: HealthLake, datastoreID: String) async {
        let end = recorder.instant(at: self.duration)
        let cap = recorder.instant(at: self.duration + self.deadline + self.checker.settings.deadlineGrace + 3)
        await withTaskGroup(of: Bool.self) { group in
            for index in 0..<self.clients {
                let client = ChaosClient(
                    index: index, schedule: schedule, recorder: recorder, fhir: fhir, datastoreID: datastoreID, deadline: self.deadline,
                    thinkTime: self.thinkTime, bundles: self.bundles)
                group.addTask {
                    await client.run(until: end)
                    return true
                }
            }
            group.addTask {
                try? await Task.sleep(until: cap, clock: .continuous)
                return false
            }
            var finished = 0
            while let isClient = await group.next() {
                if isClient {
                    finished += 1
                    if finished == self.clients { break }
                } else {
                    recorder.freeze()
                    break
                }
            }
            group.cancelAll()
        }
        recorder.thaw()
    }

    /// Injects the fault at the schedule's moment and, for reversible faults, heals it after the
    /// schedule's hold.
    private static func runFault(_ injector: ChaosFaultInjector, schedule: ChaosSchedule, recorder: ChaosRecorder) async -> Result<FaultRecord, CLIError> {
        try? await Task.sleep(until: recorder.instant(at: schedule.faultAt), clock: .continuous)
        let scenario = injector.scenario
        let injectInvoked = recorder.now()
        do {
            try await injector.inject()
        } catch {
            return .failure(CLIError("injecting \(scenario.rawValue) failed: \(Self.describe(error))"))
        }
        var record = FaultRecord(scenario: scenario, injectInvoked: injectInvoked, injectReturned: recorder.now())
        guard scenario.isReversible else { return .success(record) }
        try? await Task.sleep(until: recorder.instant(at: record.injectReturned + schedule.faultHold), clock: .continuous)
        record.healInvoked = recorder.now()
        do {
            try await injector.heal()
        } catch {
            return .failure(CLIError("healing \(scenario.rawValue) failed: \(Self.describe(error))"))
        }
        record.healReturned = recorder.now()
        return .success(record)
    }

    /// When no operation invoked after healing has succeeded yet, reads (or searches) every 250 ms
    /// until one does or the recovery bound has passed; the probes are part of the history.
    private func probeRecovery(fault: FaultRecord, recorder: ChaosRecorder, fhir: HealthLake, datastoreID: String) async {
        guard self.scenario.isReversible, let healed = fault.healReturned else { return }
        let target = recorder.snapshot().first { $0.kind == .create && $0.succeeded }?.resourceID
        let client = self.clients
        var options = CallOptions.defaults
        options.timeout = .milliseconds(Int64(self.deadline * 1000))
        while recorder.now() < healed + self.checker.settings.recoveryBound {
            let history = ChaosHistory(
                scenario: self.scenario, seed: self.seed, clients: self.clients, loadEnded: self.duration, operations: recorder.snapshot(),
                fault: fault, verification: nil, audit: nil)
            if InvariantChecker.recoveryTime(history) != nil { return }
            let sequence = recorder.begin(client: client, kind: .probe, resourceID: target ?? "", deadline: self.deadline)
            do {
                if let target {
                    _ = try await fhir.readResource(
                        .with {
                            $0.datastoreID = datastoreID
                            $0.resourceType = "Patient"
                            $0.id = target
                        }, options: options)
                } else {
                    _ = try await fhir.searchResources(.with { $0.datastoreID = datastoreID; $0.resourceType = "Patient" }, options: options)
                }
                recorder.finish(sequence, errorName: nil)
            } catch {
                recorder.finish(sequence, errorName: ChaosErrorName.of(error))
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? RPCError { return "\(ChaosErrorName.of(error)): \(error.message)" }
        return "\(error)"
    }
}

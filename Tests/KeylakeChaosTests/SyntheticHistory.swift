import KeylakeChaos

/// Builds synthetic histories for checker tests: a clean run by default, which each test then
/// breaks in one way.
struct SyntheticHistory {
    var scenario: ChaosScenario
    var operations: [OperationRecord] = []
    var fault: FaultRecord
    var reads: [WriteVerification.ReadBack] = []
    var markerSearches: [WriteVerification.MarkerSearch] = []
    var facts: [AuditFact] = []
    var chainValid = true

    /// A clean run of `scenario`: fault injected at 3.0 s (returned 3.1 s), healed at 5.0–5.2 s
    /// when reversible; one create before, one denied or failed read during, one successful read
    /// after; the create read back intact; one allowed key use per success; the fault's events.
    init(_ scenario: ChaosScenario) {
        self.scenario = scenario
        self.fault = FaultRecord(
            scenario: scenario, injectInvoked: 3.0, injectReturned: 3.1, healInvoked: scenario.isReversible ? 5.0 : nil,
            healReturned: scenario.isReversible ? 5.2 : nil)
        self.add(.create, id: "p1", at: 1.0, took: 0.1, digest: "d1", marker: "m1")
        let duringError = scenario.denialErrorNames.first ?? "KmsKeyUnavailableException"
        self.add(.read, id: "p1", at: 4.0, took: 0.1, error: duringError)
        if scenario.isReversible {
            self.add(.read, id: "p1", at: 6.0, took: 0.1)
        }
        self.reads = [.init(resourceType: "Patient", resourceID: "p1", contentDigest: "d1", errorName: nil)]
        self.fact("GenerateDataKey", at: 1.0)
        if let faultEvent = Self.faultEventName(scenario) { self.fact(faultEvent, at: 3.0, byDataService: false) }
        self.fact("Decrypt", at: 4.0, error: "AccessDeniedException")
        if scenario == .disableKey || scenario == .scheduleDeletion { self.fact("EnableKey", at: 5.0, byDataService: false) }
        if scenario.isReversible { self.fact("Decrypt", at: 6.0) }
    }

    static func faultEventName(_ scenario: ChaosScenario) -> String? {
        switch scenario {
        case .revokeGrant: "RevokeGrant"
        case .retireGrant: "RetireGrant"
        case .disableKey: "DisableKey"
        case .scheduleDeletion: "ScheduleKeyDeletion"
        default: nil
        }
    }

    /// Adds an operation; `took: nil` makes it hang. Returns its sequence number.
    @discardableResult
    mutating func add(
        _ kind: OperationKind, id: String, at invoked: Double, took: Double?, error: String? = nil, digest: String? = nil, marker: String? = nil,
        deadline: Double = 5
    ) -> Int {
        let sequence = self.operations.count + 1
        self.operations.append(
            OperationRecord(
                sequence: sequence, client: 0, kind: kind, resourceType: "Patient", resourceID: id, marker: marker, invoked: invoked,
                completed: took.map { invoked + $0 }, deadline: deadline, errorName: error, contentDigest: digest))
        return sequence
    }

    mutating func fact(_ name: String, at time: Double, byDataService: Bool = true, error: String? = nil) {
        self.facts.append(AuditFact(position: self.facts.count, eventName: name, time: time, byDataService: byDataService, errorCode: error))
    }

    var history: ChaosHistory {
        ChaosHistory(
            scenario: self.scenario, seed: 42, clients: 1, loadEnded: 8, operations: self.operations.sorted { $0.invoked < $1.invoked },
            fault: self.fault, verification: WriteVerification(reads: self.reads, markerSearches: self.markerSearches),
            audit: AuditEvidence(facts: self.facts, chainValid: self.chainValid, eventsChecked: self.facts.count, chainProblem: self.chainValid ? "" : "hash mismatch"))
    }

    /// The checker's verdicts.
    func check(_ settings: ChaosCheckerSettings = ChaosCheckerSettings()) -> [Invariant: InvariantResult] {
        Dictionary(uniqueKeysWithValues: InvariantChecker(settings: settings).check(self.history).map { ($0.invariant, $0) })
    }
}

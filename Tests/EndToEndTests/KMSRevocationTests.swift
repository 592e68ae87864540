import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Synchronization
import Testing

/// Revocation takes effect immediately (issue 3, "Grants"): while 64 Decrypt loops run on four
/// connections as the data service, authorised only by a grant, the key administrator revokes the
/// grant (or retires it, disables the key, schedules its deletion); no call invoked after that
/// call returned may succeed. Serialized, so each case has the machine to itself.
@Suite("kmsd: grant revocation under load", .serialized, .timeLimit(.minutes(15)))
struct KMSRevocationTests {
    typealias P = KMSPrincipals

    static let connections = 4
    static let loopsPerConnection = 16
    /// The take-away is invoked once the load has run this long and every loop finished a call.
    static let takeAwayAfter: Duration = .seconds(1)
    /// The load goes on this long after the take-away returned, and until the loops invoked
    /// `callsAfterTakeAway` calls after it (however slow a loaded machine makes each call).
    static let loadAfterTakeAway: Duration = .seconds(2)
    static let callsAfterTakeAway = connections * loopsPerConnection
    /// Bounds on the load, whatever happens: only a hang reaches it.
    static let maximumLoad: Duration = .seconds(180)
    static let maximumCallsPerLoop = 20_000

    /// Shared by the loops and the task that takes access away.
    final class LoadControl: Sendable {
        let start: ContinuousClock.Instant
        private let completedCalls = Atomic<Int>(0)
        /// Calls invoked at or after `returnedOffset`.
        private let callsAfter = Atomic<Int>(0)
        /// Nanoseconds after `start` at which the take-away returned; `Int64.max` until then.
        private let returnedOffset = Atomic<Int64>(.max)
        /// Nanoseconds after `start` at which the loops stop; `Int64.max` until the take-away returned.
        private let stopOffset = Atomic<Int64>(.max)

        init(start: ContinuousClock.Instant) { self.start = start }

        private func nanoseconds(_ instant: ContinuousClock.Instant) -> Int64 {
            let offset = instant - self.start
            return offset.components.seconds * 1_000_000_000 + offset.components.attoseconds / 1_000_000_000
        }

        /// A call invoked at `invoked` completed.
        func completed(invoked: ContinuousClock.Instant) {
            self.completedCalls.add(1, ordering: .relaxed)
            if self.nanoseconds(invoked) >= self.returnedOffset.load(ordering: .sequentiallyConsistent) {
                self.callsAfter.add(1, ordering: .relaxed)
            }
        }
        var completedCount: Int { self.completedCalls.load(ordering: .relaxed) }

        /// The take-away returned at `returned`: the loops stop at `stop`, once enough calls were
        /// invoked after `returned`.
        func tookAway(returned: ContinuousClock.Instant, stop: ContinuousClock.Instant) {
            self.returnedOffset.store(self.nanoseconds(returned), ordering: .sequentiallyConsistent)
            self.stopOffset.store(self.nanoseconds(stop), ordering: .sequentiallyConsistent)
        }

        func shouldStop(at instant: ContinuousClock.Instant) -> Bool {
            if instant - self.start >= KMSRevocationTests.maximumLoad { return true }
            return self.nanoseconds(instant) >= self.stopOffset.load(ordering: .sequentiallyConsistent)
                && self.callsAfter.load(ordering: .relaxed) >= KMSRevocationTests.callsAfterTakeAway
        }
    }

    enum Outcome: Sendable, Equatable {
        case success
        case failure(String)
    }

    struct Call: Sendable {
        var requestID: String
        var invoked: ContinuousClock.Instant
        var completed: ContinuousClock.Instant
        var outcome: Outcome
    }

    struct Revocation: Sendable {
        var invoked: ContinuousClock.Instant
        var returned: ContinuousClock.Instant
    }

    enum LoadResult: Sendable {
        case calls([Call])
        case revocation(Revocation)
    }

    /// What the administrator takes away mid-load, and the error every later Decrypt must get.
    enum TakeAway: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case revokeGrant = "RevokeGrant"
        case retireGrant = "RetireGrant"
        case disableKey = "DisableKey"
        case scheduleKeyDeletion = "ScheduleKeyDeletion"

        var expectedError: String {
            switch self {
            case .revokeGrant, .retireGrant: "AccessDeniedException"
            case .disableKey: "DisabledException"
            case .scheduleKeyDeletion: "KMSInvalidStateException"
            }
        }

        var testDescription: String { self.rawValue }

        func perform(_ admin: KMSClient, keyID: String, grant: Keylake_Kms_V1_CreateGrantResponse) async throws {
            switch self {
            case .revokeGrant:
                _ = try await admin.revokeGrant(.make { $0.keyID = keyID; $0.grantID = grant.grantID }, options: .kmsTest)
            case .retireGrant:
                _ = try await admin.retireGrant(.make { $0.grantToken = grant.grantToken }, options: .kmsTest)
            case .disableKey:
                _ = try await admin.disableKey(.make { $0.keyID = keyID }, options: .kmsTest)
            case .scheduleKeyDeletion:
                _ = try await admin.scheduleKeyDeletion(.make { $0.keyID = keyID; $0.pendingWindowInDays = 7 }, options: .kmsTest)
            }
        }
    }

    @Test("64 concurrent Decrypts on 4 connections: nothing invoked after the call returned succeeds", arguments: TakeAway.allCases)
    func takeAwayUnderLoad(_ takeAway: TakeAway) async throws {
        try await withWorkspace { workspace in
            let system = try await KMSDevSystem.start(in: workspace)
            let context = ["purpose": "revocation-under-load"]
            let plaintext = Data("revoke me".utf8)

            // Default key policy: only the account root. The service gets in only through the grant.
            let (key, ciphertext) = try await system.withClient(as: "admin") { admin in
                let key = try await kmsCreateKey(admin, description: "revocation under load")
                let ciphertext = try await admin.encrypt(
                    .make { $0.keyID = key.keyID; $0.plaintext = plaintext; $0.encryptionContext = context }, options: .kmsTest
                ).ciphertextBlob
                return (key, ciphertext)
            }
            let decryptRequest = Keylake_Kms_V1_DecryptRequest.make {
                $0.ciphertextBlob = ciphertext
                $0.encryptionContext = context
            }
            try await system.withClient(as: "fhird") { fhird in
                try await expectKMSError(.permissionDenied, "AccessDeniedException", "the service must need the grant") {
                    try await fhird.decrypt(decryptRequest, options: .kmsTest)
                }
            }
            let grant = try await system.withClient(as: "admin") { admin in
                try await admin.createGrant(
                    .make {
                        $0.keyID = key.keyID
                        $0.granteePrincipal = P.healthLake
                        $0.operations = ["Decrypt"]
                    }, options: .kmsTest)
            }

            let clock = ContinuousClock()
            let (calls, revokeTimes): ([Call], Revocation?) = try await withKMSClients(
                Self.connections, home: system.home, port: system.kmsdPort, as: "fhird"
            ) { clients in
                // Every connection is up and authorised by the grant before the load starts.
                for client in clients {
                    let opened = try await client.decrypt(decryptRequest, options: .kmsTest)
                    #expect(opened.plaintext == plaintext)
                }
                return try await system.withClient(as: "admin") { admin in
                    let control = LoadControl(start: clock.now)
                    return try await withThrowingTaskGroup(of: LoadResult.self) { group in
                        for (index, client) in clients.enumerated() {
                            for loop in 0..<Self.loopsPerConnection {
                                group.addTask {
                                    .calls(try await Self.decryptLoop(client, decryptRequest, name: "rev-\(index)-\(loop)", control: control, clock: clock))
                                }
                            }
                        }
                        group.addTask {
                            // Under way on every loop, whatever the machine's speed.
                            try await Task.sleep(until: control.start + Self.takeAwayAfter, clock: clock)
                            while control.completedCount < 2 * Self.connections * Self.loopsPerConnection,
                                !control.shouldStop(at: clock.now)
                            {
                                try await Task.sleep(for: .milliseconds(10))
                            }
                            let invoked = clock.now
                            try await takeAway.perform(admin, keyID: key.keyID, grant: grant)
                            let returned = clock.now
                            control.tookAway(returned: returned, stop: returned + Self.loadAfterTakeAway)
                            return .revocation(Revocation(invoked: invoked, returned: returned))
                        }
                        var all: [Call] = []
                        var revocation: Revocation?
                        for try await result in group {
                            switch result {
                            case .calls(let batch): all += batch
                            case .revocation(let times): revocation = times
                            }
                        }
                        return (all, revocation)
                    }
                }
            }

            let revoke = try #require(revokeTimes, "\(takeAway.rawValue) did not complete")
            let before = calls.filter { $0.completed < revoke.invoked }
            let after = calls.filter { $0.invoked >= revoke.returned }
            let overlapping = calls.filter { $0.completed >= revoke.invoked && $0.invoked < revoke.returned }
            let violations = after.filter { $0.outcome == .success }
            let unexpectedAfter = after.filter { $0.outcome != .success && $0.outcome != .failure(takeAway.expectedError) }
            let failedBefore = before.filter { $0.outcome != .success }
            let overlappingSuccesses = overlapping.filter { $0.outcome == .success }.count
            let summary = """
                \(takeAway.rawValue) under load: \(calls.count) Decrypt calls on \(Self.connections) connections × \(Self.loopsPerConnection) loops \
                (\(Self.loadAfterTakeAway) after it returned); \(takeAway.rawValue) took \(revoke.returned - revoke.invoked); \
                completed before \(takeAway.rawValue) was invoked: \(before.count) (failed: \(failedBefore.count)); \
                in flight around it: \(overlapping.count) (succeeded: \(overlappingSuccesses)); \
                invoked after it returned: \(after.count) (succeeded: \(violations.count))
                """
            print(summary)

            #expect(violations.isEmpty, "calls invoked after \(takeAway.rawValue) returned still succeeded: \(violations.map(\.requestID).prefix(10))\n\(summary)")
            #expect(unexpectedAfter.isEmpty, "unexpected outcomes after revocation: \(unexpectedAfter.map(\.outcome).prefix(10))")
            #expect(failedBefore.isEmpty, "calls failed before the revocation: \(failedBefore.map(\.outcome).prefix(10))")
            #expect(before.count >= Self.connections * Self.loopsPerConnection, "the load never got going: \(summary)")
            #expect(after.count >= Self.connections * Self.loopsPerConnection, "too few calls after the revocation to tell: \(summary)")

            // Every call, allowed or denied, is in the audit trail with its outcome.
            try await system.withClient(as: "admin") { admin in
                let events = try await kmsLookupAllEvents(admin, eventName: "Decrypt", username: P.healthLake)
                var byRequest: [String: KMSAuditEvent] = [:]
                for event in events { if let id = event.requestID { byRequest[id] = event } }
                let missing = calls.filter { byRequest[$0.requestID] == nil }
                #expect(missing.isEmpty, "\(missing.count) of \(calls.count) calls have no audit event, e.g. \(missing.prefix(5).map(\.requestID))")
                let mismatched = calls.filter { call in
                    guard let event = byRequest[call.requestID] else { return false }
                    switch call.outcome {
                    case .success: return event.errorCode != nil
                    case .failure(let name): return event.errorCode != name
                    }
                }
                #expect(mismatched.isEmpty, "\(mismatched.count) audit events disagree with what the client saw")
                let grants = try await admin.listGrants(.make { $0.keyID = key.keyID }, options: .kmsTest)
                switch takeAway {
                case .revokeGrant, .retireGrant:
                    #expect(grants.grants.isEmpty)
                case .disableKey, .scheduleKeyDeletion:
                    #expect(grants.grants.map(\.grantID) == [grant.grantID])
                }
                let takeAwayEvents = try await kmsLookupAllEvents(admin, eventName: takeAway.rawValue)
                #expect(takeAwayEvents.count == 1 && takeAwayEvents.first?.errorCode == nil, "\(takeAwayEvents)")
                try await expectAuditChainValid(admin)
            }
            #expect(await system.stop() == 0, "\(system.devUp.transcript)")
        }
    }

    /// Decrypts in a loop until `control` says stop, recording each call's invoke and completion time.
    static func decryptLoop(
        _ client: KMSClient, _ request: Keylake_Kms_V1_DecryptRequest, name: String, control: LoadControl, clock: ContinuousClock
    ) async throws -> [Call] {
        var calls: [Call] = []
        var index = 0
        while !control.shouldStop(at: clock.now), index < Self.maximumCallsPerLoop {
            let requestID = "\(name)-\(index)"
            index += 1
            let invoked = clock.now
            let failure = try await kmsFailure {
                try await client.decrypt(request, metadata: .kms(requestID: requestID), options: .kmsTest)
            }
            let completed = clock.now
            control.completed(invoked: invoked)
            calls.append(Call(requestID: requestID, invoked: invoked, completed: completed, outcome: failure.map { .failure($0.name) } ?? .success))
        }
        return calls
    }
}

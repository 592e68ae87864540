import Foundation
import Synchronization
import Testing

@testable import KMS

/// The audit trail's order agrees with the order of decisions around a change: every event of a
/// call authorised before a `RevokeGrant` or `DisableKey` precedes that change's event in the
/// chain, and every call decided after it (allowed or refused) follows it.
@Suite("Audit trail order around changes")
struct AuditOrderTests {
    typealias F = KeyServiceFixture
    static let grantee = F.caller(F.adminRole)

    /// What takes the grantee's access away.
    enum Change: String, CaseIterable, Sendable {
        case revokeGrant, disableKey

        var eventName: String { self == .revokeGrant ? "RevokeGrant" : "DisableKey" }
    }

    /// What the racing calls saw, shared between their tasks.
    final class Counters: Sendable {
        let successes = Atomic<Int>(0)
        let refusals = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
    }

    /// Rounds per change; each round races fresh calls against one change.
    static let rounds = 10

    @Test("no allowed call by the grantee after the change's event, no refusal before it", arguments: Change.allCases)
    func orderAroundChange(_ change: Change) async throws {
        for round in 0..<Self.rounds {
            try await self.race(change, round: round)
        }
    }

    private func race(_ change: Change, round: Int) async throws {
        let fixture = try F()
        defer { fixture.remove() }
        let service = fixture.service
        let key = try await service.createKey(CreateKeyRequest(), caller: F.rootCaller)
        let grant = try await service.createGrant(
            CreateGrantRequest(keyID: key.arn, granteePrincipal: F.adminRole, operations: ["GenerateDataKey", "Decrypt"]),
            caller: F.rootCaller
        )
        let blob = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, encryptionContext: ["r": "1"], caller: Self.grantee)
            .ciphertextBlob

        let counters = Counters()
        let workers = 12
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var index = 0
                    let deadline = ContinuousClock.now + .seconds(120)
                    while !counters.stop.load(ordering: .sequentiallyConsistent), ContinuousClock.now < deadline {
                        index += 1
                        let code = await errorCode {
                            if (worker + index) % 2 == 0 {
                                _ = try await service.decrypt(ciphertextBlob: blob, encryptionContext: ["r": "1"], caller: Self.grantee)
                            } else {
                                _ = try await service.generateDataKey(keyID: key.arn, keySpec: .aes256, encryptionContext: ["r": "1"], caller: Self.grantee)
                            }
                        }
                        if code == nil {
                            counters.successes.add(1, ordering: .sequentiallyConsistent)
                        } else {
                            counters.refusals.add(1, ordering: .sequentiallyConsistent)
                        }
                    }
                }
            }
            // Let the calls run on the fast path (directory warm) before the change.
            let warm = ContinuousClock.now + .seconds(60)
            while counters.successes.load(ordering: .sequentiallyConsistent) < 100 || service.store.directory.snapshot() == nil {
                guard ContinuousClock.now < warm else { break }
                try await Task.sleep(for: .milliseconds(2))
            }
            switch change {
            case .revokeGrant: try await service.revokeGrant(keyID: key.arn, grantID: grant.grantID, caller: F.rootCaller)
            case .disableKey: try await service.disableKey(keyID: key.arn, caller: F.rootCaller)
            }
            // Keep racing until enough calls were refused under the new state.
            let refused = ContinuousClock.now + .seconds(60)
            while counters.refusals.load(ordering: .sequentiallyConsistent) < 2 * workers, ContinuousClock.now < refused {
                try await Task.sleep(for: .milliseconds(2))
            }
            counters.stop.store(true, ordering: .sequentiallyConsistent)
            try await group.waitForAll()
        }
        #expect(counters.successes.load(ordering: .sequentiallyConsistent) >= 100, "round \(round): the race needs calls allowed before the change")
        #expect(counters.refusals.load(ordering: .sequentiallyConsistent) >= 2 * workers, "round \(round): the race needs calls refused after the change")

        // The trail in chain order.
        let events = try fixture.auditEvents()
        let changeIndex = try #require(
            events.firstIndex { $0["eventName"] as? String == change.eventName && $0["errorCode"] == nil },
            "round \(round): no \(change.eventName) event"
        )
        var allowedAfter = 0
        var refusedBefore = 0
        var racing = 0
        for (index, event) in events.enumerated() {
            guard let name = event["eventName"] as? String, name == "Decrypt" || name == "GenerateDataKey" else { continue }
            racing += 1
            let refused = event["errorCode"] != nil
            if refused && index < changeIndex { refusedBefore += 1 }
            if !refused && index > changeIndex { allowedAfter += 1 }
        }
        #expect(racing == counters.successes.load(ordering: .sequentiallyConsistent) + counters.refusals.load(ordering: .sequentiallyConsistent) + 1)
        #expect(allowedAfter == 0, "round \(round): \(allowedAfter) allowed events after the \(change.eventName) event")
        #expect(refusedBefore == 0, "round \(round): \(refusedBefore) refusals before the \(change.eventName) event")
        #expect(try service.auditTrail.verifyChain().isIntact)
    }
}

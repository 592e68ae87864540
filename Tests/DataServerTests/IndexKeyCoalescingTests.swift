import DataServer
import DataStore
import Foundation
import GRPCCore
import KeylakeProto
import SwiftProtobuf
import Synchronization
import Testing

/// Sharing an index-key unwrap among concurrent requests (`IndexKeyUnwrapCoalescer`): fewer
/// unwraps, and never a key from an unwrap that started before the request did, so a request
/// that arrives after a revocation never gets a key; cancellation, isolation between datastores,
/// nothing left in memory; and through fhird over a real kmsd, fewer index-key `Decrypt`s than
/// creates and immediate refusal after the grant is revoked.
@Suite("fhird: shared index-key unwraps", .timeLimit(.minutes(5)))
struct IndexKeyCoalescingTests {
    /// What the scripted unwrap throws while "revoked".
    struct Refusal: Error, Equatable {}

    /// A controllable unwrap: counts its calls, decides at the start of each call whether it is
    /// refused (as kmsd authorises when the call arrives), optionally holds every call at a gate
    /// until the test opens it, and returns for call number `n` the key of 32 bytes `n`.
    final class ScriptedUnwrap: Sendable {
        private struct State {
            var calls = 0
            var refusing = false
            var gateOpen: Bool
            var held: [CheckedContinuation<Void, Never>] = []
            var callsCancelled = 0
        }

        private let state: Mutex<State>
        private let latency: Duration

        init(gated: Bool, latency: Duration = .zero) {
            self.state = Mutex(State(gateOpen: !gated))
            self.latency = latency
        }

        /// Unwraps started so far.
        var calls: Int { self.state.withLock { $0.calls } }
        /// Unwraps that saw their task cancelled by the time they were let through.
        var callsCancelled: Int { self.state.withLock { $0.callsCancelled } }

        /// Makes later calls fail (`true`, "revoked") or succeed.
        func refuse(_ refusing: Bool) { self.state.withLock { $0.refusing = refusing } }

        /// Opens the gate: held calls go on, later calls pass.
        func open() {
            let held = self.state.withLock { state in
                state.gateOpen = true
                defer { state.held = [] }
                return state.held
            }
            for call in held { call.resume() }
        }

        @Sendable func unwrap(_ wrapped: WrappedIndexKey, _ datastoreID: String) async throws -> BlindIndexKey {
            let (number, refused) = self.state.withLock { state in
                state.calls += 1
                return (state.calls, state.refusing)
            }
            await withCheckedContinuation { (call: CheckedContinuation<Void, Never>) in
                let pass = self.state.withLock { state in
                    if !state.gateOpen { state.held.append(call) }
                    return state.gateOpen
                }
                if pass { call.resume() }
            }
            if self.latency > .zero { try? await Task.sleep(for: self.latency) }
            if Task.isCancelled { self.state.withLock { $0.callsCancelled += 1 } }
            if refused { throw Refusal() }
            return IndexKeyCoalescingTests.key(number)
        }
    }

    /// The key the scripted unwrap returns on its `number`th call.
    static func key(_ number: Int) -> BlindIndexKey {
        var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: number), count: 32)
        return BlindIndexKey(bytes: &bytes)
    }

    /// What identifies a key from outside: its blind tokens for `family=smith`.
    static func fingerprint(_ key: BlindIndexKey) throws -> Set<IndexToken> {
        let patient = try #require(FHIRResourceType("Patient"))
        let family = try #require(SearchParameterTable.r4.parameter(named: "family", for: patient))
        return try BlindIndex(key: key).clause(for: family, value: "smith").tokens
    }

    /// A one-layer wrapped index key whose bytes depend on `tag`.
    static func wrappedKey(_ tag: UInt8) throws -> WrappedIndexKey {
        let keyID = Array("key-\(tag)".utf8)
        let bytes: [UInt8] = [1, 1, KeyLayer.serviceOwned.rawValue, 0, UInt8(keyID.count)] + keyID + [0, 4, tag, tag, tag, tag]
        return try WrappedIndexKey(serialized: bytes)
    }

    /// Polls `condition` every few milliseconds for at most `timeout` (long: only a hang should
    /// trip it, not a loaded machine); records an issue and throws when it never holds.
    static func waitUntil(
        _ what: String, timeout: Duration = .seconds(120), sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    static func request(
        _ coalescer: IndexKeyUnwrapCoalescer, _ wrapped: WrappedIndexKey, datastore: String = "datastore-1"
    ) -> Task<BlindIndexKey, any Error> {
        Task { try await coalescer.indexKey(unwrapping: wrapped, datastoreID: datastore) }
    }

    @Test("64 concurrent requests cost two unwraps: the one running when they arrived is not theirs; each generation gets one key")
    func sixtyFourRequests() async throws {
        let script = ScriptedUnwrap(gated: true)
        let coalescer = IndexKeyUnwrapCoalescer(unwrap: script.unwrap)
        let wrapped = try Self.wrappedKey(1)
        let first = Self.request(coalescer, wrapped)
        try await Self.waitUntil("the first unwrap started") { script.calls == 1 }
        let rest = (1..<64).map { _ in Self.request(coalescer, wrapped) }
        try await Self.waitUntil("all 64 requests wait") { coalescer.requestsWaiting == 64 }
        #expect(script.calls == 1, "the queued requests wait for the next generation")
        #expect(coalescer.datastoresInFlight == 1)
        script.open()
        #expect(try Self.fingerprint(try await first.value) == Self.fingerprint(Self.key(1)))
        let second = try Self.fingerprint(Self.key(2))
        for request in rest {
            #expect(try Self.fingerprint(try await request.value) == second)
        }
        #expect(script.calls == 2)
        #expect(coalescer.datastoresInFlight == 0)
        #expect(coalescer.requestsWaiting == 0)
    }

    @Test("64 concurrent requests against an unwrap with latency: far fewer unwraps, all succeed with their generation's key")
    func sixtyFourRequestsFreeRunning() async throws {
        // Each unwrap stays in flight long enough that the 64 requests, started together, arrive
        // during the first one or two even when a loaded machine schedules them late.
        let script = ScriptedUnwrap(gated: false, latency: .milliseconds(200))
        let coalescer = IndexKeyUnwrapCoalescer(unwrap: script.unwrap)
        let wrapped = try Self.wrappedKey(1)
        let requests = (0..<64).map { _ in Self.request(coalescer, wrapped) }
        var seen: Set<Set<IndexToken>> = []
        for request in requests { seen.insert(try Self.fingerprint(try await request.value)) }
        #expect(script.calls < 64, "\(script.calls) unwraps for 64 requests")
        #expect(script.calls >= 1)
        #expect(seen.count <= script.calls, "every key came from one of the unwraps")
        let expected = try Set((1...script.calls).map { try Self.fingerprint(Self.key($0)) })
        #expect(seen.isSubset(of: expected))
        #expect(coalescer.datastoresInFlight == 0)
    }

    @Test("revoked while A's unwrap runs: A succeeds, B (arrived after) gets the refusal, never A's key; after a failure a new request tries again")
    func revocationIsImmediate() async throws {
        let script = ScriptedUnwrap(gated: true)
        let coalescer = IndexKeyUnwrapCoalescer(unwrap: script.unwrap)
        let wrapped = try Self.wrappedKey(1)
        let a = Self.request(coalescer, wrapped)
        try await Self.waitUntil("A's unwrap started") { script.calls == 1 }
        script.refuse(true)  // the revocation returns while A's unwrap is in flight
        let b = Self.request(coalescer, wrapped)
        try await Self.waitUntil("B waits") { coalescer.requestsWaiting == 2 }
        script.open()
        #expect(try Self.fingerprint(try await a.value) == Self.fingerprint(Self.key(1)))
        await #expect(throws: Refusal.self) { try await b.value }
        #expect(script.calls == 2, "B had an unwrap of its own")
        #expect(coalescer.datastoresInFlight == 0)

        // Still refused: the next request fails on a fresh unwrap, and so does the one after.
        await #expect(throws: Refusal.self) { try await coalescer.indexKey(unwrapping: wrapped, datastoreID: "datastore-1") }
        #expect(script.calls == 3)
        // Access restored: a request arriving after the failed unwrap gets a fresh, successful one.
        script.refuse(false)
        let restored = try await coalescer.indexKey(unwrapping: wrapped, datastoreID: "datastore-1")
        #expect(try Self.fingerprint(restored) == Self.fingerprint(Self.key(4)))
        #expect(script.calls == 4)
        #expect(coalescer.datastoresInFlight == 0)
    }

    @Test("a cancelled queued request returns CancellationError at once; the others and the next generation are unaffected")
    func cancelledQueuedRequest() async throws {
        let script = ScriptedUnwrap(gated: true)
        let coalescer = IndexKeyUnwrapCoalescer(unwrap: script.unwrap)
        let wrapped = try Self.wrappedKey(1)
        let a = Self.request(coalescer, wrapped)
        try await Self.waitUntil("A's unwrap started") { script.calls == 1 }
        let b = Self.request(coalescer, wrapped)
        let c = Self.request(coalescer, wrapped)
        try await Self.waitUntil("B and C queued") { coalescer.requestsWaiting == 3 }
        b.cancel()
        try await Self.waitUntil("B left the queue while the unwrap is still held") { coalescer.requestsWaiting == 2 }
        await #expect(throws: CancellationError.self) { try await b.value }
        #expect(script.calls == 1)
        script.open()
        #expect(try Self.fingerprint(try await a.value) == Self.fingerprint(Self.key(1)))
        #expect(try Self.fingerprint(try await c.value) == Self.fingerprint(Self.key(2)))
        #expect(script.calls == 2, "the next generation ran for C")
        #expect(script.callsCancelled == 0)
        #expect(coalescer.datastoresInFlight == 0)
        #expect(coalescer.requestsWaiting == 0)
    }

    @Test("when the only member of the running unwrap is cancelled, the unwrap is cancelled and the queued request still gets its own")
    func cancelledRunningRequest() async throws {
        let script = ScriptedUnwrap(gated: true)
        let coalescer = IndexKeyUnwrapCoalescer(unwrap: script.unwrap)
        let wrapped = try Self.wrappedKey(1)
        let a = Self.request(coalescer, wrapped)
        try await Self.waitUntil("A's unwrap started") { script.calls == 1 }
        let b = Self.request(coalescer, wrapped)
        try await Self.waitUntil("B queued") { coalescer.requestsWaiting == 2 }
        a.cancel()
        try await Self.waitUntil("A left") { coalescer.requestsWaiting == 1 }
        await #expect(throws: CancellationError.self) { try await a.value }
        #expect(script.calls == 1, "B waits for A's unwrap to end before its own starts")
        script.open()
        #expect(try Self.fingerprint(try await b.value) == Self.fingerprint(Self.key(2)))
        #expect(script.calls == 2)
        #expect(script.callsCancelled == 1, "the orphaned unwrap was cancelled")
        #expect(coalescer.datastoresInFlight == 0)
    }

    @Test("256 requests over four datastores, a third cancelled at arbitrary moments: every request is answered once, the rest get keys, nothing is left")
    func cancellationRaces() async throws {
        let script = ScriptedUnwrap(gated: false, latency: .milliseconds(1))
        let coalescer = IndexKeyUnwrapCoalescer(unwrap: script.unwrap)
        let wrapped = try Self.wrappedKey(1)
        let requests = (0..<256).map { number in Self.request(coalescer, wrapped, datastore: "datastore-\(number % 4)") }
        for (number, request) in requests.enumerated() where number % 3 == 0 {
            if number % 2 == 0 { await Task.yield() }
            request.cancel()
        }
        var keys = 0
        for (number, request) in requests.enumerated() {
            switch await request.result {
            case .success:
                keys += 1
            case .failure(let error):
                #expect(number % 3 == 0 && error is CancellationError, "request \(number): \(error)")
            }
        }
        #expect(keys >= 256 - 86)
        #expect(coalescer.datastoresInFlight == 0)
        #expect(coalescer.requestsWaiting == 0)
    }

    @Test("a request whose task is already cancelled starts no unwrap")
    func alreadyCancelled() async throws {
        let script = ScriptedUnwrap(gated: false)
        let coalescer = IndexKeyUnwrapCoalescer(unwrap: script.unwrap)
        let wrapped = try Self.wrappedKey(1)
        let request = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await coalescer.indexKey(unwrapping: wrapped, datastoreID: "datastore-1")
        }
        await #expect(throws: CancellationError.self) { try await request.value }
        #expect(script.calls == 0)
        #expect(coalescer.datastoresInFlight == 0)
    }

    @Test("different datastores, and the same datastore id with other key bytes, never share; nothing is left afterwards")
    func datastoresNeverShare() async throws {
        let script = ScriptedUnwrap(gated: true)
        let coalescer = IndexKeyUnwrapCoalescer(unwrap: script.unwrap)
        let first = Self.request(coalescer, try Self.wrappedKey(1), datastore: "datastore-1")
        let second = Self.request(coalescer, try Self.wrappedKey(1), datastore: "datastore-2")
        let rewrapped = Self.request(coalescer, try Self.wrappedKey(2), datastore: "datastore-1")
        try await Self.waitUntil("three unwraps run at once") { script.calls == 3 }
        #expect(coalescer.datastoresInFlight == 3)
        #expect(coalescer.requestsWaiting == 3)
        script.open()
        let fingerprints = [
            try Self.fingerprint(try await first.value), try Self.fingerprint(try await second.value),
            try Self.fingerprint(try await rewrapped.value),
        ]
        #expect(Set(fingerprints).count == 3, "each request got its own unwrap's key")
        #expect(script.calls == 3)
        #expect(coalescer.datastoresInFlight == 0)
        #expect(coalescer.requestsWaiting == 0)
    }

    // MARK: - Through fhird and a real kmsd

    /// How many `Decrypt`s of `datastore`'s index key kmsd audited on `cmk` (one per unwrap:
    /// each unwrap decrypts the customer-managed layer once).
    static func indexKeyDecrypts(_ system: TestSystem, cmk: String, datastore: String) async throws -> Int {
        var count = 0
        var token = ""
        for _ in 0..<100 {
            let page = try await system.kmsAdmin.lookupEvents(
                .with {
                    $0.lookupAttributes = [.with { $0.attributeKey = "EventName"; $0.attributeValue = "Decrypt" }]
                    $0.maxResults = 1000
                    $0.nextToken = token
                }, options: .test)
            count += page.events.filter { event in
                let document = event.cloudTrailEvent
                return document.contains("search-index") && document.contains(datastore) && document.contains(cmk)
            }.count
            token = page.nextToken
            if token.isEmpty { return count }
        }
        Issue.record("LookupEvents still had pages after 100")
        return count
    }

    @Test("fhird on a CMK datastore: 64 concurrent creates unwrap the index key fewer times than 64; after revocation the next create and search fail")
    func throughFHIRService() async throws {
        try await withTestSystem { system in
            let cmk = try await system.createSeedKey()
            let datastore = try await system.createDatastore(name: "coalesced", cmk: cmk)
            let patients = try HealthLakeServiceTests.patients()
            #expect(try await Self.indexKeyDecrypts(system, cmk: cmk, datastore: datastore) == 0)

            let creates = 64
            let bodies = patients.map(\.json)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for number in 0..<creates {
                    group.addTask {
                        let response = try await system.app.createResource(
                            .with { $0.datastoreID = datastore; $0.resource = Data(bodies[number % bodies.count]) }, options: .test)
                        #expect(response.versionID == "1")
                    }
                }
                try await group.waitForAll()
            }
            let unwraps = try await Self.indexKeyDecrypts(system, cmk: cmk, datastore: datastore)
            #expect(unwraps >= 1)
            #expect(unwraps < creates, "\(unwraps) index-key unwraps for \(creates) concurrent creates")
            let all = try await HealthLakeServiceTests.search(system, datastore, [], count: 100)
            #expect(all.ids.count == creates)
            // Blind tokens written under the shared key are found under a later unwrap's key.
            func family(_ number: Int) -> String? {
                ((patients[number % patients.count].object["name"] as? [[String: Any]])?.first?["family"] as? String)
            }
            let name = try #require(family(0))
            let expected = (0..<creates).filter { family($0) == name }.count
            let found = try await HealthLakeServiceTests.search(system, datastore, [("family", name)], count: 100)
            #expect(found.ids.count == expected, "family=\(name)")

            // Revoke the grant: the very next create and search are refused, naming the key.
            let grant = try #require(try await system.kmsAdmin.listGrants(.with { $0.keyID = cmk }, options: .test).grants.first)
            _ = try await system.kmsAdmin.revokeGrant(.with { $0.keyID = cmk; $0.grantID = grant.grantID }, options: .test)
            for call in ["write", "search"] {
                let refused = try await failure { try await HealthLakeServiceTests.call(call, system, datastore, patients[0]) }
                #expect(refused?.name == "KmsKeyAccessDeniedException", "\(call): \(String(describing: refused))")
                #expect(refused?.message.contains(cmk) == true)
            }
        }
    }
}

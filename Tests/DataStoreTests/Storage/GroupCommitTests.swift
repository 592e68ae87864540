import Foundation
import GRDB
import Testing

@testable import DataStore

/// Group commit: concurrent writers share transactions, each is acknowledged only after its
/// transaction commits, and a failing writer's savepoint is rolled back without touching the
/// others.
@Suite("resource store group commit", .timeLimit(.minutes(3)))
struct GroupCommitTests {
    static func patient(_ id: String) throws -> FHIRResource {
        try FHIRResource.parse(Array(#"{"resourceType":"Patient","id":"\#(id)","name":[{"family":"Family\#(id)"}],"gender":"female"}"#.utf8))
    }

    @Test("many concurrent creates are all acknowledged and readable, in fewer transactions than writes")
    func concurrentCreates() async throws {
        let fixture = try await StoreFixture(encryption: .serviceOwned)
        defer { fixture.remove() }
        let index = try await fixture.index()
        let count = 300
        var writes: [ResourceWrite] = []
        for number in 0..<count { writes.append(try await fixture.write(try Self.patient("p\(number)"), versionID: 1, index: index)) }
        let store = fixture.store
        let acknowledged = try await withThrowingTaskGroup(of: String.self) { group in
            for write in writes {
                group.addTask {
                    try await store.groupCommit([write])
                    return write.resourceID
                }
            }
            var ids: [String] = []
            for try await id in group { ids.append(id) }
            return ids
        }
        #expect(Set(acknowledged).count == count)
        for number in 0..<count {
            let stored = try store.read(datastoreID: fixture.datastore.id, resourceType: .patient, resourceID: "p\(number)")
            let opened = try await fixture.open(stored)
            let sent = try Self.patient("p\(number)")
            #expect(opened.clientContent == sent.clientContent)
        }
        let statistics = store.groupCommitStatistics
        #expect(statistics.writes == count)
        #expect(statistics.transactions < count, "concurrent writers shared transactions: \(statistics)")
        #expect(statistics.largestGroup > 1)
        #expect(statistics.largestGroup <= store.settings.maximumGroupCommitBatchSize)
        // The tokens went in with the versions.
        #expect(try store.integer("SELECT COUNT(DISTINCT resource_key) FROM search_token") == count)
    }

    @Test("measurement: 200 one-version writes committed one by one versus by 200 concurrent writers")
    func measurement() async throws {
        let fixture = try await StoreFixture(encryption: .serviceOwned)
        defer { fixture.remove() }
        let index = try await fixture.index()
        let store = fixture.store
        var serial: [ResourceWrite] = [], grouped: [ResourceWrite] = []
        for number in 0..<200 {
            serial.append(try await fixture.write(try Self.patient("s\(number)"), versionID: 1, index: index))
            grouped.append(try await fixture.write(try Self.patient("g\(number)"), versionID: 1, index: index))
        }
        let clock = ContinuousClock()
        let serialTime = try clock.measure { for write in serial { try store.commit([write]) } }
        let before = store.groupCommitStatistics
        let groupedTime = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for write in grouped { group.addTask { try await store.groupCommit([write]) } }
                try await group.waitForAll()
            }
        }
        let after = store.groupCommitStatistics
        #expect(after.writes - before.writes == 200)
        #expect(try store.integer("SELECT COUNT(*) FROM resource_version") == 400)
        print("group commit: 200 writes one by one \(serialTime) (200 transactions); concurrently \(groupedTime) in \(after.transactions - before.transactions) transactions (largest \(after.largestGroup))")
    }

    @Test("failing members (version conflicts, a multi-write member with one bad write) fail alone; the rest commit")
    func failingMembers() async throws {
        let fixture = try await StoreFixture(encryption: .serviceOwned)
        defer { fixture.remove() }
        let index = try await fixture.index()
        let store = fixture.store
        // Members: 200 good single writes; every 10th member instead claims version 3 of a new
        // resource (a conflict); every 25th is a pair whose second write conflicts.
        enum Expected: Sendable { case success, conflict }
        var members: [(writes: [ResourceWrite], expected: Expected, ids: [String])] = []
        for number in 0..<200 {
            if number % 25 == 24 {
                let good = try await fixture.write(try Self.patient("pair\(number)a"), versionID: 1, index: index)
                let bad = try await fixture.write(try Self.patient("pair\(number)b"), versionID: 2, index: index)
                members.append(([good, bad], .conflict, ["pair\(number)a", "pair\(number)b"]))
            } else if number % 10 == 9 {
                members.append(([try await fixture.write(try Self.patient("bad\(number)"), versionID: 3, index: index)], .conflict, ["bad\(number)"]))
            } else {
                members.append(([try await fixture.write(try Self.patient("good\(number)"), versionID: 1, index: index)], .success, ["good\(number)"]))
            }
        }
        let outcomes = try await withThrowingTaskGroup(of: (Int, DataStoreError?).self) { group in
            for (position, member) in members.enumerated() {
                let writes = member.writes
                group.addTask {
                    do {
                        try await store.groupCommit(writes)
                        return (position, nil)
                    } catch let error as DataStoreError {
                        return (position, error)
                    }
                }
            }
            var outcomes: [Int: DataStoreError?] = [:]
            for try await (position, error) in group { outcomes[position] = error }
            return outcomes
        }
        for (position, member) in members.enumerated() {
            let error = outcomes[position] ?? nil
            switch member.expected {
            case .success:
                #expect(error == nil, "\(member.ids)")
                #expect(try store.currentVersion(datastoreID: fixture.datastore.id, resourceType: .patient, resourceID: member.ids[0])?.versionID == 1)
            case .conflict:
                #expect(error?.code == .versionConflict, "\(member.ids)")
                #expect(error?.resource == "Patient/\(member.ids.last!)", "the error names the conflicting resource")
                for id in member.ids {
                    #expect(try store.currentVersion(datastoreID: fixture.datastore.id, resourceType: .patient, resourceID: id) == nil, "\(id): nothing of a failed member is stored")
                }
            }
        }
        let good = members.filter { if case .success = $0.expected { return true } else { return false } }.count
        #expect(try store.integer("SELECT COUNT(*) FROM resource_version") == good)
        #expect(try store.integer("SELECT COUNT(DISTINCT resource_key) FROM search_token") == good)
        #expect(store.groupCommitStatistics.largestGroup > 1, "failing members shared transactions with succeeding ones")
    }

    @Test("a write to a datastore that is no longer active fails alone")
    func inactiveDatastore() async throws {
        let fixture = try await StoreFixture(encryption: .serviceOwned)
        defer { fixture.remove() }
        let index = try await fixture.index()
        let other = try await StoreFixture.activeDatastore(fixture.store, fixture.cipher, id: "ds-2", encryption: .serviceOwned)
        let doomed = try await fixture.write(try Self.patient("x"), versionID: 1, index: try await fixture.index(other), datastore: other)
        let fine = try await fixture.write(try Self.patient("y"), versionID: 1, index: index)
        try fixture.store.markDeleting(id: "ds-2")
        let store = fixture.store
        async let first: DataStoreError? = {
            do {
                try await store.groupCommit([doomed])
                return nil
            } catch let error as DataStoreError {
                return error
            }
        }()
        async let second: Void = store.groupCommit([fine])
        let failure = try await first
        #expect(failure?.code == .datastoreNotActive)
        try await second
        #expect(try fixture.store.currentVersion(datastoreID: fixture.datastore.id, resourceType: .patient, resourceID: "y")?.versionID == 1)
        #expect(try fixture.store.integer("SELECT COUNT(*) FROM resource_version WHERE datastore_id = 'ds-2'") == 0)
    }
}

import Foundation
import GRDB
import Testing

@testable import DataStore

/// The store writer's settings and its token inserts: multi-row statements, replacement on
/// update, and a failing member that writes nothing while the others commit.
@Suite("resource store writer", .timeLimit(.minutes(3)))
struct StoreWriterTests {
    static func tokens(_ count: Int, parameter: String = "name", seed: UInt8 = 0) -> [IndexToken] {
        (0..<count).map { number in
            IndexToken(parameter: parameter, bytes: [seed, UInt8(number >> 8), UInt8(number & 0xff)] + [UInt8](repeating: 7, count: 13))
        }
    }

    static func write(_ fixture: StoreFixture, id: String, version: Int = 1, tokens: [IndexToken]) async throws -> ResourceWrite {
        let index = try await fixture.index()
        let resource = try FHIRResource.parse(Array(#"{"resourceType":"Patient","id":"\#(id)","gender":"female"}"#.utf8))
        let sealed = try await fixture.write(resource, versionID: version, index: index)
        return ResourceWrite(
            datastoreID: sealed.datastoreID, resourceType: sealed.resourceType, resourceID: id, versionID: version,
            lastUpdated: sealed.lastUpdated, content: sealed.content, tokens: tokens)
    }

    @Test("the writer connection gets the settings, keeps synchronous=FULL and secure_delete, and journals savepoints in memory")
    func writerPragmas() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ResourceStore(
            path: directory.file("fhir.sqlite"),
            settings: ResourceStoreSettings(maximumGroupCommitBatchSize: 8, walAutoCheckpointPages: 1234, writerCacheKiB: 4321))
        let values = try await store.database.writeWithoutTransaction { db in
            try ["wal_autocheckpoint", "cache_size", "synchronous", "secure_delete", "temp_store", "journal_mode"].map {
                try String.fetchOne(db, sql: "PRAGMA \($0)") ?? "?"
            }
        }
        #expect(values == ["1234", "-4321", "2", "1", "2", "wal"])
        #expect(ResourceStoreSettings().walAutoCheckpointPages == 10_000)
        #expect(ResourceStoreSettings().writerCacheKiB == 65_536)
    }

    @Test("settings that are not positive are refused before any file is made", arguments: [
        ResourceStoreSettings(maximumGroupCommitBatchSize: 0),
        ResourceStoreSettings(walAutoCheckpointPages: 0),
        ResourceStoreSettings(writerCacheKiB: -1),
    ])
    func badSettings(_ settings: ResourceStoreSettings) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("fhir.sqlite")
        #expect(throws: DataStoreError(code: .invalidRequest, message: "")) { try ResourceStore(path: path, settings: settings) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("more tokens than one INSERT carries are all stored; an update replaces them; a member with a bad token fails alone")
    func multiRowTokens() async throws {
        let fixture = try await StoreFixture(encryption: .serviceOwned)
        defer { fixture.remove() }
        let store = fixture.store
        let many = ResourceStore.tokensPerInsert * 2 + 3
        // Three chunks (two full, one of 3), one token exactly at each chunk boundary.
        try await store.groupCommit([try await Self.write(fixture, id: "big", tokens: Self.tokens(many))])
        #expect(try store.integer("SELECT COUNT(*) FROM search_token WHERE resource_key = (SELECT resource_key FROM resource WHERE resource_id = 'big')") == many)
        #expect(try store.integer("SELECT COUNT(*) FROM search_token WHERE resource_key = (SELECT resource_key FROM resource WHERE resource_id = 'big') AND parameter = 'name' AND length(token) = 16") == many)
        for probe in [0, ResourceStore.tokensPerInsert - 1, ResourceStore.tokensPerInsert, many - 1] {
            let bytes = Data(Self.tokens(many)[probe].bytes)
            let found = try await store.database.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM search_token WHERE resource_key = (SELECT resource_key FROM resource WHERE resource_id = 'big') AND token = ?", arguments: [bytes])
            }
            #expect(found == 1, "token \(probe)")
        }

        // Version 2 with other tokens: the old ones are gone, the new ones are there.
        try await store.groupCommit([try await Self.write(fixture, id: "big", version: 2, tokens: Self.tokens(5, parameter: "family", seed: 9))])
        #expect(try store.integer("SELECT COUNT(*) FROM search_token WHERE resource_key = (SELECT resource_key FROM resource WHERE resource_id = 'big')") == 5)
        #expect(try store.integer("SELECT COUNT(*) FROM search_token WHERE resource_key = (SELECT resource_key FROM resource WHERE resource_id = 'big') AND parameter = 'family'") == 5)

        // Concurrent members; one has a token without a parameter name after many good ones.
        var bad = Self.tokens(ResourceStore.tokensPerInsert + 10, seed: 1)
        bad.append(IndexToken(parameter: "", bytes: [UInt8](repeating: 1, count: 16)))
        let members = [
            try await Self.write(fixture, id: "ok1", tokens: Self.tokens(3, seed: 2)),
            try await Self.write(fixture, id: "broken", tokens: bad),
            try await Self.write(fixture, id: "ok2", tokens: Self.tokens(ResourceStore.tokensPerInsert + 1, seed: 3)),
        ]
        let errors = await withTaskGroup(of: (String, (any Error)?).self) { group in
            for member in members {
                group.addTask {
                    do {
                        try await store.groupCommit([member])
                        return (member.resourceID, nil)
                    } catch {
                        return (member.resourceID, error)
                    }
                }
            }
            var errors: [String: (any Error)?] = [:]
            for await (id, error) in group { errors[id] = error }
            return errors
        }
        #expect(errors.count == 3)
        #expect(errors["ok1"].map { $0 == nil } == true, "ok1: \(String(describing: errors["ok1"]))")
        #expect(errors["ok2"].map { $0 == nil } == true, "ok2: \(String(describing: errors["ok2"]))")
        #expect((errors["broken"] ?? nil).flatMap { $0 as? DataStoreError }?.code == .invalidRequest)
        #expect(try store.currentVersion(datastoreID: fixture.datastore.id, resourceType: .patient, resourceID: "broken") == nil)
        #expect(try store.integer("SELECT COUNT(*) FROM search_token WHERE resource_key = (SELECT resource_key FROM resource WHERE resource_id = 'broken')") == 0)
        #expect(try store.integer("SELECT COUNT(*) FROM resource_version WHERE resource_id = 'broken'") == 0)
        #expect(try store.integer("SELECT COUNT(*) FROM search_token WHERE resource_key = (SELECT resource_key FROM resource WHERE resource_id = 'ok1')") == 3)
        #expect(try store.integer("SELECT COUNT(*) FROM search_token WHERE resource_key = (SELECT resource_key FROM resource WHERE resource_id = 'ok2')") == ResourceStore.tokensPerInsert + 1)
    }
}

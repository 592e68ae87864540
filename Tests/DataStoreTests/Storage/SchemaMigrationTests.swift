import Foundation
import GRDB
import Testing

@testable import DataStore

/// A store written by the first schema (v1: text-keyed current versions and index tokens)
/// opens under the current one with every resource, version and token carried over.
@Suite("resource store schema migration")
struct SchemaMigrationTests {
    static let v1 = "v1: datastores, resource versions, current versions, index tokens"

    static func patient(_ id: String, family: String) throws -> FHIRResource {
        try FHIRResource.parse(Array(#"{"resourceType":"Patient","id":"\#(id)","name":[{"family":"\#(family)"}],"birthDate":"1970-01-01"}"#.utf8))
    }

    /// Applies a write the way the v1 schema stored it (its current-version row and index
    /// tokens keyed by datastore, type and resource id).
    static func applyV1(_ write: ResourceWrite, _ db: Database) throws {
        let key: StatementArguments = [write.datastoreID, write.resourceType.name, write.resourceID]
        let deleted: Bool
        let sealed: Data?
        switch write.content {
        case .sealed(let resource): (deleted, sealed) = (false, Data(resource.serialized()))
        case .deleted: (deleted, sealed) = (true, nil)
        }
        try db.execute(
            sql: """
                INSERT INTO resource_version (datastore_id, resource_type, resource_id, version_id, last_updated, deleted, sealed)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: key + [write.versionID, write.lastUpdated, deleted, sealed])
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO current_resource (datastore_id, resource_type, resource_id, version_id, deleted, last_updated)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: key + [write.versionID, deleted, write.lastUpdated])
        try db.execute(sql: "DELETE FROM index_token WHERE datastore_id = ? AND resource_type = ? AND resource_id = ?", arguments: key)
        for token in write.tokens where !deleted {
            try db.execute(
                sql: "INSERT OR IGNORE INTO index_token (datastore_id, resource_type, parameter, token, resource_id) VALUES (?, ?, ?, ?, ?)",
                arguments: [write.datastoreID, write.resourceType.name, token.parameter, Data(token.bytes), write.resourceID])
        }
    }

    @Test("a v1 store migrates: reads, history and search give what v1 held; later writes replace migrated tokens")
    func migratesV1() async throws {
        // The fixture provides the keys, the datastore and sealed writes; the v1 file is separate.
        let fixture = try await StoreFixture()
        defer { fixture.remove() }
        let index = try await fixture.index()
        let writes = [
            try await fixture.write(Self.patient("p1", family: "Smith"), versionID: 1, index: index, lastUpdated: 1000),
            try await fixture.write(Self.patient("p2", family: "Jones"), versionID: 1, index: index, lastUpdated: 2000),
            try await fixture.write(Self.patient("p2", family: "Jonas"), versionID: 2, index: index, lastUpdated: 3000),
            try await fixture.write(Self.patient("p3", family: "Smith"), versionID: 1, index: index, lastUpdated: 4000),
            ResourceWrite(
                datastoreID: fixture.datastore.id, resourceType: .patient, resourceID: "p3", versionID: 2, lastUpdated: 5000, content: .deleted,
                tokens: []),
        ]
        let path = fixture.directory.file("v1.sqlite")
        let tokensInV1: Int
        do {
            let queue = try DatabaseQueue(path: path)
            try ResourceStore.migrator.migrate(queue, upTo: Self.v1)
            try await queue.write { db in
                let record = fixture.datastore
                try db.execute(
                    sql: """
                        INSERT INTO datastore (id, name, type_version, status, created_at, cmk_type, kms_key_arn, wrapped_index_key)
                        VALUES (?, ?, 'R4', 'ACTIVE', 0, 'CUSTOMER_MANAGED_KMS_KEY', ?, ?)
                        """,
                    arguments: [record.id, record.name, record.encryption.kmsKeyARN, Data(record.wrappedIndexKey!.serialized())])
                for write in writes { try Self.applyV1(write, db) }
            }
            tokensInV1 = try await queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM index_token") } ?? 0
            try queue.close()
        }
        #expect(tokensInV1 > 4)

        let store = try ResourceStore(path: path)
        let ds = fixture.datastore.id
        #expect(try store.integer("SELECT COUNT(*) FROM grdb_migrations") == 2)
        #expect(try store.integer("SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('index_token', 'current_resource')") == 0)
        #expect(try store.integer("SELECT COUNT(*) FROM search_token") == tokensInV1)
        // Keys follow write order.
        #expect(try store.string("SELECT group_concat(resource_id) FROM (SELECT resource_id FROM resource ORDER BY resource_key)") == "p1,p2,p3")

        // Reads and history.
        let p2 = try await fixture.open(try store.read(datastoreID: ds, resourceType: .patient, resourceID: "p2"))
        #expect(p2.serialized() == (try Self.patient("p2", family: "Jonas")).settingServerManagedElements(
            id: "p2", versionID: "2", lastUpdated: FHIRInstant.format(millisecondsSince1970: 3000)).serialized())
        #expect(try store.history(datastoreID: ds, resourceType: .patient, resourceID: "p2").map(\.versionID) == [2, 1])
        #expect(try store.currentVersion(datastoreID: ds, resourceType: .patient, resourceID: "p3")?.isDeleted == true)
        #expect(throws: DataStoreError(code: .notFound, message: "")) { try store.read(datastoreID: ds, resourceType: .patient, resourceID: "p4") }

        // Search: exactly the live resources whose current version has the value.
        let family = SearchParameterTable.r4.parameter(named: "family", for: .patient)!
        func search(_ value: String) throws -> [String] {
            try store.search(datastoreID: ds, resourceType: .patient, clauses: [try index.clause(for: family, value: value)])
        }
        #expect(try search("smith") == ["p1"])
        #expect(try search("jonas") == ["p2"])
        #expect(try search("jones").isEmpty)

        // Writing a migrated resource replaces its tokens; a new resource gets the next key.
        try store.commit([try await fixture.write(Self.patient("p1", family: "Brown"), versionID: 2, index: index, lastUpdated: 6000)])
        try store.commit([try await fixture.write(Self.patient("p4", family: "Smith"), versionID: 1, index: index, lastUpdated: 7000)])
        #expect(try search("smith") == ["p4"])
        #expect(try search("brown") == ["p1"])
        #expect(try store.integer("SELECT resource_key FROM resource WHERE resource_id = 'p4'") == 4)
        // A stale version of a migrated resource (p2 is at version 2) is still refused.
        let stale = ResourceWrite(
            datastoreID: ds, resourceType: .patient, resourceID: "p2", versionID: 1, lastUpdated: 8000, content: .deleted, tokens: [])
        #expect(throws: DataStoreError(code: .versionConflict, message: "")) { try store.commit([stale]) }
    }
}

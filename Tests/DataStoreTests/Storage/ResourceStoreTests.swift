import Foundation
import GRDB
import Testing

@testable import DataStore

@Suite("resource store")
struct ResourceStoreTests {
    static func patient(_ id: String, family: String = "Doe") throws -> FHIRResource {
        try FHIRResource.parse(Array(#"{"resourceType":"Patient","id":"\#(id)","name":[{"family":"\#(family)"}],"birthDate":"1970-01-01"}"#.utf8))
    }

    @Test("the database runs in WAL mode with synchronous=FULL")
    func pragmas() async throws {
        let fixture = try await StoreFixture()
        defer { fixture.remove() }
        #expect(try fixture.store.string("PRAGMA journal_mode") == "wal")
        #expect(try fixture.store.integer("PRAGMA synchronous") == 2)
        // The writer commits: it is the connection whose setting makes commits durable.
        let writerSynchronous = try await fixture.store.database.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
        #expect(writerSynchronous == 2)
        #expect(try fixture.store.integer("SELECT COUNT(*) FROM grdb_migrations") == 2)
    }

    @Test("datastores: idempotent create, immutable encryption, lifecycle, list and tags")
    func datastores() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try ResourceStore(path: directory.file("fhir.sqlite"))
        let cmk = EncryptionConfiguration.customerManaged(keyARN: "arn:aws:kms:us-east-1:111122223333:key/k")
        let new = NewDatastore(id: "ds-a", name: "a", encryption: cmk, clientToken: "token-1", tags: ["team": "x"], createdAt: Date(timeIntervalSince1970: 1000))
        let first = try store.createDatastore(new)
        #expect(first.created && first.record.status == .creating && first.record.tags == ["team": "x"])
        // Same token, same parameters: the same datastore, not a new one.
        var retry = new
        retry.id = "ds-other"
        let again = try store.createDatastore(retry)
        #expect(!again.created && again.record.id == "ds-a")
        // Same token, other parameters: refused.
        retry.name = "b"
        #expect(throws: DataStoreError(code: .alreadyExists, message: "")) { try store.createDatastore(retry) }
        #expect(throws: DataStoreError(code: .alreadyExists, message: "")) {
            try store.createDatastore(NewDatastore(id: "ds-a", name: "a", encryption: .serviceOwned))
        }
        // The encryption configuration cannot change, not even by SQL.
        #expect(throws: DatabaseError.self) { try store.execute("UPDATE datastore SET kms_key_arn = 'arn:other' WHERE id = 'ds-a'") }
        #expect(throws: DatabaseError.self) {
            try store.execute("UPDATE datastore SET cmk_type = 'AWS_OWNED_KMS_KEY', kms_key_arn = NULL WHERE id = 'ds-a'")
        }
        // Lifecycle.
        let cipher = EnvelopeCipher(provider: FakeKeyService())
        let (_, wrapped) = try await cipher.newIndexKey(datastoreID: "ds-a", layers: cmk.layers)
        try store.activateDatastore(id: "ds-a", wrappedIndexKey: wrapped)
        #expect(try store.datastore(id: "ds-a").status == .active)
        #expect(try store.datastore(id: "ds-a").wrappedIndexKey == wrapped)
        #expect(throws: DataStoreError(code: .datastoreNotActive, message: "")) { try store.activateDatastore(id: "ds-a", wrappedIndexKey: wrapped) }
        try store.createDatastore(NewDatastore(id: "ds-b", name: "b", encryption: .serviceOwned, createdAt: Date(timeIntervalSince1970: 2000)))
        try store.markCreateFailed(id: "ds-b", cause: "DescribeKey: key is disabled")
        #expect(try store.datastore(id: "ds-b").errorCause == "DescribeKey: key is disabled")
        try store.createDatastore(NewDatastore(id: "ds-c", name: "c", encryption: .serviceOwned, createdAt: Date(timeIntervalSince1970: 3000)))
        #expect(try store.listDatastores().map(\.id) == ["ds-a", "ds-b", "ds-c"])
        #expect(try store.listDatastores(status: .createFailed).map(\.id) == ["ds-b"])
        #expect(try store.listDatastores(name: "c").map(\.id) == ["ds-c"])
        #expect(try store.listDatastores(createdAfter: Date(timeIntervalSince1970: 1500)).map(\.id) == ["ds-b", "ds-c"])
        #expect(try store.listDatastores(createdBefore: Date(timeIntervalSince1970: 2500)).map(\.id) == ["ds-a", "ds-b"])
        #expect(try store.listDatastores(limit: 2).map(\.id) == ["ds-a", "ds-b"])
        #expect(try store.listDatastores(limit: 2, afterID: "ds-b").map(\.id) == ["ds-c"])
        try store.tagDatastore(id: "ds-a", tags: ["env": "test", "team": "y"])
        try store.untagDatastore(id: "ds-a", keys: ["env"])
        #expect(try store.datastore(id: "ds-a").tags == ["team": "y"])
        #expect(throws: DataStoreError(code: .notFound, message: "")) { try store.datastore(id: "nope") }
    }

    @Test("versions: optimistic locking, deletion, vread and history")
    func versions() async throws {
        let fixture = try await StoreFixture()
        defer { fixture.remove() }
        let index = try await fixture.index()
        let store = fixture.store, ds = fixture.datastore.id
        try store.commit([try await fixture.write(Self.patient("p1"), versionID: 1, index: index, lastUpdated: 1000)])
        // A second writer racing for version 1, or skipping to 3, conflicts.
        let racing = try await fixture.write(Self.patient("p1", family: "Other"), versionID: 1, index: index)
        #expect(throws: DataStoreError(code: .versionConflict, message: "")) { try store.commit([racing]) }
        let skipping = try await fixture.write(Self.patient("p1", family: "Other"), versionID: 3, index: index)
        #expect(throws: DataStoreError(code: .versionConflict, message: "")) { try store.commit([skipping]) }
        try store.commit([try await fixture.write(Self.patient("p1", family: "Smith"), versionID: 2, index: index, lastUpdated: 2000)])
        try store.commit([ResourceWrite(datastoreID: ds, resourceType: .patient, resourceID: "p1", versionID: 3, lastUpdated: 3000, content: .deleted, tokens: [])])

        #expect(try store.currentVersion(datastoreID: ds, resourceType: .patient, resourceID: "p1") == .init(versionID: 3, isDeleted: true, lastUpdated: 3000))
        #expect(try store.read(datastoreID: ds, resourceType: .patient, resourceID: "p1").isDeleted)
        let v2 = try await fixture.open(try store.read(datastoreID: ds, resourceType: .patient, resourceID: "p1", versionID: 2))
        #expect(v2.versionID == "2")
        #expect(v2.clientContent == (try Self.patient("p1", family: "Smith")).clientContent)
        #expect(throws: DataStoreError(code: .notFound, message: "")) { try store.read(datastoreID: ds, resourceType: .patient, resourceID: "p1", versionID: 9) }
        #expect(throws: DataStoreError(code: .notFound, message: "")) { try store.read(datastoreID: ds, resourceType: .patient, resourceID: "p2") }
        #expect(try store.history(datastoreID: ds, resourceType: .patient, resourceID: "p1").map(\.versionID) == [3, 2, 1])
        #expect(try store.history(datastoreID: ds, since: 2000).map(\.versionID) == [3, 2])
        // A deleted resource is not found by search; its tokens are gone.
        let family = try index.clause(for: SearchParameterTable.r4.parameter(named: "family", for: .patient)!, value: "smith")
        #expect(try store.search(datastoreID: ds, resourceType: .patient, clauses: [family]).isEmpty)
        #expect(try store.integer("SELECT COUNT(*) FROM search_token") == 0)
        // Update after delete continues the version sequence.
        try store.commit([try await fixture.write(Self.patient("p1", family: "Smith"), versionID: 4, index: index, lastUpdated: 4000)])
        #expect(try store.search(datastoreID: ds, resourceType: .patient, clauses: [family]) == ["p1"])
    }

    @Test("a batch is all or nothing: one conflict and no version or token is written")
    func atomicBatch() async throws {
        let fixture = try await StoreFixture()
        defer { fixture.remove() }
        let index = try await fixture.index()
        try fixture.store.commit([try await fixture.write(Self.patient("p1"), versionID: 1, index: index)])
        let batch = [
            try await fixture.write(Self.patient("p2"), versionID: 1, index: index),
            try await fixture.write(Self.patient("p3"), versionID: 1, index: index),
            try await fixture.write(Self.patient("p1"), versionID: 1, index: index),  // conflict
        ]
        #expect(throws: DataStoreError(code: .versionConflict, message: "")) { try fixture.store.commit(batch) }
        #expect(try fixture.store.integer("SELECT COUNT(*) FROM resource_version") == 1)
        #expect(try fixture.store.integer("SELECT COUNT(DISTINCT resource_key) FROM search_token") == 1)
    }

    @Test("a ciphertext swapped between two rows is detected, never returned as the other resource")
    func swappedCiphertext() async throws {
        let fixture = try await StoreFixture()
        defer { fixture.remove() }
        let index = try await fixture.index()
        try fixture.store.commit([
            try await fixture.write(Self.patient("p1", family: "One"), versionID: 1, index: index),
            try await fixture.write(Self.patient("p2", family: "Two"), versionID: 1, index: index),
        ])
        // Swap through a copy: an UPDATE reading its own table would see its first change.
        try fixture.store.execute("""
            CREATE TEMP TABLE original AS SELECT resource_id, sealed FROM resource_version;
            UPDATE resource_version SET sealed = (
                SELECT sealed FROM original WHERE original.resource_id = CASE resource_version.resource_id WHEN 'p1' THEN 'p2' ELSE 'p1' END
            );
            DROP TABLE original;
            """)
        #expect(try fixture.store.integer("SELECT COUNT(DISTINCT sealed) FROM resource_version") == 2)
        for id in ["p1", "p2"] {
            let stored = try fixture.store.read(datastoreID: fixture.datastore.id, resourceType: .patient, resourceID: id)
            do {
                _ = try await fixture.open(stored)
                Issue.record("swapped ciphertext of \(id) opened")
            } catch let error as DataStoreError {
                #expect(error.code == .keyUnavailable || error.code == .decryptionFailed)
            }
        }
    }

    @Test("reads and writes need an ACTIVE datastore; deletion destroys the data")
    func deletion() async throws {
        let fixture = try await StoreFixture()
        defer { fixture.remove() }
        let index = try await fixture.index()
        let store = fixture.store, ds = fixture.datastore.id
        try store.commit([try await fixture.write(Self.patient("p1"), versionID: 1, index: index)])
        try store.markDeleting(id: ds)
        #expect(throws: DataStoreError(code: .datastoreNotActive, message: "")) { try store.read(datastoreID: ds, resourceType: .patient, resourceID: "p1") }
        let late = try await fixture.write(Self.patient("p2"), versionID: 1, index: index)
        #expect(throws: DataStoreError(code: .datastoreNotActive, message: "")) { try store.commit([late]) }
        try store.destroyDatastore(id: ds)
        let record = try store.datastore(id: ds)
        #expect(record.status == .deleted && record.wrappedIndexKey == nil)
        for table in ["resource_version", "resource", "search_token"] {
            #expect(try store.integer("SELECT COUNT(*) FROM \(table)") == 0, "\(table)")
        }
    }
}

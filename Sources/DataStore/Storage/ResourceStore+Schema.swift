import GRDB

extension ResourceStore {
    /// The schema as named, append-only migrations. Never edit a registered migration: add one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: datastores, resource versions, current versions, index tokens") { db in
            try db.execute(
                sql: """
                    CREATE TABLE datastore (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        type_version TEXT NOT NULL CHECK (type_version = 'R4'),
                        status TEXT NOT NULL
                            CHECK (status IN ('CREATING', 'ACTIVE', 'DELETING', 'DELETED', 'CREATE_FAILED')),
                        error_cause TEXT,
                        created_at INTEGER NOT NULL,
                        cmk_type TEXT NOT NULL CHECK (cmk_type IN ('AWS_OWNED_KMS_KEY', 'CUSTOMER_MANAGED_KMS_KEY')),
                        kms_key_arn TEXT,
                        client_token TEXT UNIQUE,
                        wrapped_index_key BLOB,
                        CHECK ((cmk_type = 'CUSTOMER_MANAGED_KMS_KEY') = (kms_key_arn IS NOT NULL))
                    );
                    CREATE INDEX datastore_created ON datastore(created_at, id);
                    -- The encryption configuration never changes after creation (HealthLake's rule),
                    -- enforced here as well as in code.
                    CREATE TRIGGER datastore_encryption_immutable
                        BEFORE UPDATE OF cmk_type, kms_key_arn ON datastore
                        WHEN OLD.cmk_type IS NOT NEW.cmk_type OR OLD.kms_key_arn IS NOT NEW.kms_key_arn
                    BEGIN
                        SELECT RAISE(ABORT, 'the encryption configuration of a datastore is immutable');
                    END;
                    -- The index key is set once (on activation) and only ever erased afterwards.
                    CREATE TRIGGER datastore_index_key_set_once
                        BEFORE UPDATE OF wrapped_index_key ON datastore
                        WHEN OLD.wrapped_index_key IS NOT NULL AND NEW.wrapped_index_key IS NOT NULL
                            AND OLD.wrapped_index_key IS NOT NEW.wrapped_index_key
                    BEGIN
                        SELECT RAISE(ABORT, 'the index key of a datastore is set once');
                    END;
                    CREATE TABLE datastore_tag (
                        datastore_id TEXT NOT NULL REFERENCES datastore(id) ON DELETE CASCADE,
                        tag_key TEXT NOT NULL,
                        tag_value TEXT NOT NULL,
                        PRIMARY KEY (datastore_id, tag_key)
                    );
                    CREATE TABLE resource_version (
                        datastore_id TEXT NOT NULL REFERENCES datastore(id),
                        resource_type TEXT NOT NULL,
                        resource_id TEXT NOT NULL,
                        version_id INTEGER NOT NULL CHECK (version_id >= 1),
                        last_updated INTEGER NOT NULL,
                        deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
                        sealed BLOB,
                        CHECK ((deleted = 1) = (sealed IS NULL)),
                        UNIQUE (datastore_id, resource_type, resource_id, version_id)
                    );
                    CREATE INDEX resource_version_updated ON resource_version(datastore_id, last_updated);
                    CREATE TABLE current_resource (
                        datastore_id TEXT NOT NULL REFERENCES datastore(id),
                        resource_type TEXT NOT NULL,
                        resource_id TEXT NOT NULL,
                        version_id INTEGER NOT NULL,
                        deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
                        last_updated INTEGER NOT NULL,
                        PRIMARY KEY (datastore_id, resource_type, resource_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX current_resource_updated ON current_resource(datastore_id, resource_type, last_updated);
                    CREATE TABLE index_token (
                        datastore_id TEXT NOT NULL REFERENCES datastore(id),
                        resource_type TEXT NOT NULL,
                        parameter TEXT NOT NULL,
                        token BLOB NOT NULL,
                        resource_id TEXT NOT NULL,
                        PRIMARY KEY (datastore_id, resource_type, parameter, token, resource_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX index_token_resource ON index_token(datastore_id, resource_type, resource_id);
                    """
            )
        }
        migrator.registerMigration("v2: resources keyed by integer, compact search tokens") { db in
            // v1 keyed every index token by (datastore id, type, parameter, token, resource id):
            // about 150 bytes a row in two random B-tree positions (the primary key and the
            // by-resource index), so every token of every write dirtied index pages all over the
            // file. v2 gives each resource a small integer key assigned in write order: a token
            // row is (parameter, token, resource key), about a third of the size, and the
            // by-resource index grows at its end. The datastore and type are checked through the
            // resource row, so a token never matches across datastores or types (tokens are
            // HMACs under per-datastore keys in any case). docs/benchmarks.md has the measurement.
            try db.execute(
                sql: """
                    CREATE TABLE resource (
                        resource_key INTEGER PRIMARY KEY,
                        datastore_id TEXT NOT NULL REFERENCES datastore(id),
                        resource_type TEXT NOT NULL,
                        resource_id TEXT NOT NULL,
                        version_id INTEGER NOT NULL CHECK (version_id >= 1),
                        deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
                        last_updated INTEGER NOT NULL,
                        UNIQUE (datastore_id, resource_type, resource_id)
                    );
                    INSERT INTO resource (datastore_id, resource_type, resource_id, version_id, deleted, last_updated)
                        SELECT datastore_id, resource_type, resource_id, version_id, deleted, last_updated FROM current_resource
                        ORDER BY last_updated, datastore_id, resource_type, resource_id;
                    CREATE INDEX resource_updated ON resource(datastore_id, resource_type, last_updated);
                    CREATE TABLE search_token (
                        parameter TEXT NOT NULL,
                        token BLOB NOT NULL,
                        resource_key INTEGER NOT NULL REFERENCES resource(resource_key),
                        PRIMARY KEY (parameter, token, resource_key)
                    ) WITHOUT ROWID;
                    INSERT INTO search_token (parameter, token, resource_key)
                        SELECT token.parameter, token.token, resource.resource_key
                        FROM index_token AS token JOIN resource
                            ON resource.datastore_id = token.datastore_id
                            AND resource.resource_type = token.resource_type
                            AND resource.resource_id = token.resource_id;
                    CREATE INDEX search_token_resource ON search_token(resource_key);
                    DROP TABLE index_token;
                    DROP TABLE current_resource;
                    """
            )
        }
        return migrator
    }
}

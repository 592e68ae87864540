import GRDB

extension KeyStore {
    /// The schema as named, append-only migrations. Never edit a registered migration: add one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: keys, material, policies, aliases, tags, grants") { db in
            try db.execute(
                sql: """
                    CREATE TABLE store_metadata (
                        name TEXT PRIMARY KEY NOT NULL,
                        value BLOB NOT NULL
                    );
                    CREATE TABLE kms_key (
                        id TEXT PRIMARY KEY NOT NULL,
                        arn TEXT NOT NULL UNIQUE,
                        kind TEXT NOT NULL CHECK (kind IN ('CUSTOMER_MANAGED', 'SERVICE_OWNED')),
                        owner_service TEXT,
                        state TEXT NOT NULL CHECK (state IN ('Enabled', 'Disabled', 'PendingDeletion')),
                        deletion_date INTEGER,
                        description TEXT NOT NULL,
                        creation_date INTEGER NOT NULL,
                        rotation_enabled INTEGER NOT NULL,
                        rotation_period_days INTEGER,
                        next_rotation_date INTEGER,
                        current_material_version INTEGER NOT NULL,
                        CHECK ((kind = 'SERVICE_OWNED') = (owner_service IS NOT NULL))
                    );
                    CREATE TABLE key_material (
                        key_id TEXT NOT NULL REFERENCES kms_key(id) ON DELETE CASCADE,
                        version INTEGER NOT NULL,
                        wrapped BLOB NOT NULL,
                        creation_date INTEGER NOT NULL,
                        rotation_type TEXT NOT NULL CHECK (rotation_type IN ('INITIAL', 'AUTOMATIC', 'ON_DEMAND')),
                        PRIMARY KEY (key_id, version)
                    );
                    CREATE TABLE key_policy (
                        key_id TEXT NOT NULL REFERENCES kms_key(id) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        document TEXT NOT NULL,
                        PRIMARY KEY (key_id, name)
                    );
                    CREATE TABLE alias (
                        name TEXT PRIMARY KEY NOT NULL,
                        key_id TEXT NOT NULL REFERENCES kms_key(id) ON DELETE CASCADE,
                        creation_date INTEGER NOT NULL,
                        last_updated_date INTEGER NOT NULL
                    );
                    CREATE INDEX alias_key ON alias(key_id);
                    CREATE TABLE key_tag (
                        key_id TEXT NOT NULL REFERENCES kms_key(id) ON DELETE CASCADE,
                        tag_key TEXT NOT NULL,
                        tag_value TEXT NOT NULL,
                        PRIMARY KEY (key_id, tag_key)
                    );
                    CREATE TABLE key_grant (
                        id TEXT PRIMARY KEY NOT NULL,
                        key_id TEXT NOT NULL REFERENCES kms_key(id) ON DELETE CASCADE,
                        name TEXT,
                        grantee_principal TEXT NOT NULL,
                        retiring_principal TEXT,
                        issuing_account TEXT NOT NULL,
                        operations TEXT NOT NULL,
                        constraint_subset TEXT,
                        constraint_equals TEXT,
                        creation_date INTEGER NOT NULL,
                        UNIQUE (key_id, name)
                    );
                    CREATE INDEX key_grant_grantee ON key_grant(key_id, grantee_principal);
                    CREATE INDEX key_grant_retiring ON key_grant(retiring_principal);
                    """
            )
        }
        migrator.registerMigration("v2: grant tokens, audit trail") { db in
            try db.execute(
                sql: """
                    CREATE TABLE grant_token (
                        token_hash BLOB PRIMARY KEY NOT NULL,
                        grant_id TEXT NOT NULL REFERENCES key_grant(id) ON DELETE CASCADE
                    );
                    CREATE INDEX grant_token_grant ON grant_token(grant_id);
                    CREATE TABLE audit_event (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        event_id TEXT NOT NULL UNIQUE,
                        event_time INTEGER NOT NULL,
                        event_name TEXT NOT NULL,
                        key_id TEXT,
                        principal TEXT NOT NULL,
                        owner_service TEXT,
                        document TEXT NOT NULL,
                        chain_hash BLOB NOT NULL,
                        seal BLOB NOT NULL
                    );
                    CREATE INDEX audit_event_time ON audit_event(event_time);
                    CREATE INDEX audit_event_key ON audit_event(key_id, sequence);
                    CREATE INDEX audit_event_principal ON audit_event(principal, sequence);
                    CREATE INDEX audit_event_name ON audit_event(event_name, sequence);
                    CREATE TABLE audit_head (
                        id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
                        sequence INTEGER NOT NULL,
                        chain_hash BLOB NOT NULL,
                        seal BLOB NOT NULL
                    );
                    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
                    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
                    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
                    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
                    """
            )
        }
        return migrator
    }
}

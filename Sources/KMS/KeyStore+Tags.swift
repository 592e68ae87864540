import GRDB

extension KeyStore {
    /// A key's tags, ordered by tag key.
    static func tags(_ db: Database, keyID: KeyID) throws -> [KeyTag] {
        try Row.fetchAll(
            db,
            sql: "SELECT tag_key, tag_value FROM key_tag WHERE key_id = ? ORDER BY tag_key",
            arguments: [keyID.description]
        ).map { KeyTag(key: $0["tag_key"], value: $0["tag_value"]) }
    }

    /// Adds tags or replaces the values of existing tag keys.
    static func putTags(_ db: Database, keyID: KeyID, _ tags: [KeyTag]) throws {
        for tag in tags {
            try db.execute(
                sql: """
                    INSERT INTO key_tag (key_id, tag_key, tag_value) VALUES (?, ?, ?)
                    ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value
                    """,
                arguments: [keyID.description, tag.key, tag.value]
            )
        }
    }

    /// Removes tags by key; absent keys are ignored, as in AWS.
    static func removeTags(_ db: Database, keyID: KeyID, keys: [String]) throws {
        for key in keys {
            try db.execute(sql: "DELETE FROM key_tag WHERE key_id = ? AND tag_key = ?", arguments: [keyID.description, key])
        }
    }
}

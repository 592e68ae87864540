/// What a ciphertext belongs to; bound as additional authenticated data so that a ciphertext
/// read as anything else fails to decrypt.
///
/// A resource version's context names the datastore, resource type, resource id and version;
/// the search index key's context names only the datastore.
public struct EncryptionContext: Hashable, Sendable, CustomStringConvertible {
    /// What is encrypted.
    public enum Subject: Hashable, Sendable {
        /// One version of one resource.
        case resourceVersion(resourceType: String, resourceID: String, versionID: String)
        /// The datastore's blind-index key.
        case searchIndexKey
    }

    /// The datastore.
    public let datastoreID: String
    /// What is encrypted.
    public let subject: Subject

    /// The context of one resource version.
    public init(datastoreID: String, resourceType: String, resourceID: String, versionID: String) {
        self.datastoreID = datastoreID
        self.subject = .resourceVersion(resourceType: resourceType, resourceID: resourceID, versionID: versionID)
    }

    /// The context of a datastore's search index key.
    public static func searchIndexKey(datastoreID: String) -> EncryptionContext {
        EncryptionContext(datastoreID: datastoreID, subject: .searchIndexKey)
    }

    private init(datastoreID: String, subject: Subject) {
        self.datastoreID = datastoreID
        self.subject = subject
    }

    /// The canonical bytes bound as additional authenticated data.
    ///
    /// Layout: the label `keylake-fhir-context-v1`, a subject byte (1 resource version, 2 index
    /// key), then each field as a big-endian UInt32 length and its UTF-8 bytes: datastore id and,
    /// for a resource version, type, id and version. Length prefixes make it injective.
    public var canonicalEncoding: [UInt8] {
        var bytes = Array("keylake-fhir-context-v1".utf8)
        func field(_ text: String) {
            bytes.appendBigEndian(UInt32(text.utf8.count))
            bytes.append(contentsOf: text.utf8)
        }
        switch self.subject {
        case .resourceVersion(let type, let id, let version):
            bytes.append(1)
            field(self.datastoreID)
            field(type)
            field(id)
            field(version)
        case .searchIndexKey:
            bytes.append(2)
            field(self.datastoreID)
        }
        return bytes
    }

    /// The same context as key–value pairs for the key service's `GenerateDataKey` and
    /// `Decrypt`, so that the key service binds the wrapped data key to it too (and audits it).
    public var keyServicePairs: [String: String] {
        switch self.subject {
        case .resourceVersion(let type, let id, let version):
            ["aws:healthlake:datastore-id": self.datastoreID, "resourceType": type, "id": id, "version": version]
        case .searchIndexKey:
            ["aws:healthlake:datastore-id": self.datastoreID, "purpose": "search-index"]
        }
    }

    /// `datastore/Type/id/_history/version`, or `datastore (search index key)`.
    public var description: String {
        switch self.subject {
        case .resourceVersion(let type, let id, let version): "\(self.datastoreID)/\(type)/\(id)/_history/\(version)"
        case .searchIndexKey: "\(self.datastoreID) (search index key)"
        }
    }
}

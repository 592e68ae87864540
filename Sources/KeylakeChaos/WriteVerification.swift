/// What the runner found after the run, once the fault was over: every resource with an
/// acknowledged write read back, and every definitely failed create searched for.
public struct WriteVerification: Codable, Sendable, Hashable {
    /// One resource read back.
    public struct ReadBack: Codable, Sendable, Hashable {
        /// Resource type.
        public var resourceType: String
        /// Resource id.
        public var resourceID: String
        /// Digest of the content read (``ContentDigest``), when the read succeeded.
        public var contentDigest: String?
        /// The error name, when it failed.
        public var errorName: String?

        /// Creates a read-back.
        public init(resourceType: String, resourceID: String, contentDigest: String?, errorName: String?) {
            self.resourceType = resourceType
            self.resourceID = resourceID
            self.contentDigest = contentDigest
            self.errorName = errorName
        }
    }

    /// One search for the marker of a create that failed.
    public struct MarkerSearch: Codable, Sendable, Hashable {
        /// The failed create (``OperationRecord/sequence``).
        public var operation: Int
        /// The ids found carrying the marker (must be none).
        public var foundIDs: [String]
        /// The error name, when the search itself failed.
        public var errorName: String?

        /// Creates a search result.
        public init(operation: Int, foundIDs: [String], errorName: String?) {
            self.operation = operation
            self.foundIDs = foundIDs
            self.errorName = errorName
        }
    }

    /// Reads of every resource with an acknowledged write.
    public var reads: [ReadBack]
    /// Searches for the markers of creates that definitely failed.
    public var markerSearches: [MarkerSearch]
    /// How access was restored for the verification, for the report (e.g. "a new grant").
    public var accessNote: String

    /// Creates a verification result.
    public init(reads: [ReadBack], markerSearches: [MarkerSearch], accessNote: String = "") {
        self.reads = reads
        self.markerSearches = markerSearches
        self.accessNote = accessNote
    }
}

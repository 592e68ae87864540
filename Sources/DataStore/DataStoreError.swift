/// An error from the data-service domain: envelope encryption, the blind index or storage.
///
/// A ``DataStoreError`` carries a ``code``, a ``message`` safe to show a caller (never
/// plaintext, key material or token bytes) and, optionally, the underlying ``cause`` (for
/// example the error a ``DataKeyProvider`` threw). Two errors compare equal when their codes are
/// equal, so tests can write `#expect(throws: DataStoreError.versionConflict(""))`.
public struct DataStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public var code: Code

    /// What went wrong, safe to show the caller.
    public var message: String

    /// The lower-level error, if any; for diagnostics only.
    public var cause: (any Error)?

    /// The resource the error is about, as `Type/id`, when it is about one (for example the
    /// resource of a transaction whose version conflicted), so callers can name the request entry.
    public var resource: String?

    /// The source file that raised the error.
    public var file: String

    /// The source line that raised the error.
    public var line: UInt

    /// Creates an error.
    public init(
        code: Code, message: String, cause: (any Error)? = nil, resource: String? = nil, file: String = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.cause = cause
        self.resource = resource
        self.file = file
        self.line = line
    }

    /// `code: message`.
    public var description: String { "\(self.code): \(self.message)" }

    /// Compares by ``code`` only.
    public static func == (lhs: DataStoreError, rhs: DataStoreError) -> Bool { lhs.code == rhs.code }

    /// Hashes the ``code`` only, consistent with ``==(_:_:)``.
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// The kind of a ``DataStoreError``: a struct wrapping a private enum, so codes can be
    /// added without breaking code that switches over the existing ones.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case malformedSealedResource
            case decryptionFailed
            case keyUnavailable
            case invalidDataKey
            case notFound
            case versionConflict
            case datastoreNotActive
            case alreadyExists
            case immutableConfiguration
            case invalidRequest
            case searchTooCostly
        }

        private let wrapped: Wrapped

        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The code's name, e.g. `versionConflict`.
        public var description: String { self.wrapped.rawValue }

        /// Sealed bytes are not in the sealed-resource format (truncated, wrong version, trailing bytes).
        public static let malformedSealedResource = Code(.malformedSealedResource)
        /// Authentication failed: the ciphertext was altered, or belongs to another datastore,
        /// resource or version than the one it was read as.
        public static let decryptionFailed = Code(.decryptionFailed)
        /// The ``DataKeyProvider`` refused or failed (the key service's error is the ``cause``).
        public static let keyUnavailable = Code(.keyUnavailable)
        /// A data key from the provider is not a 256-bit key, or not for the expected layer.
        public static let invalidDataKey = Code(.invalidDataKey)
        /// The datastore, resource or version does not exist.
        public static let notFound = Code(.notFound)
        /// The resource's current version is not the one the write expected.
        public static let versionConflict = Code(.versionConflict)
        /// The datastore is not `ACTIVE`, so it cannot be read or written.
        public static let datastoreNotActive = Code(.datastoreNotActive)
        /// A datastore with this client token or id already exists with other parameters.
        public static let alreadyExists = Code(.alreadyExists)
        /// The encryption configuration of a datastore cannot change after creation.
        public static let immutableConfiguration = Code(.immutableConfiguration)
        /// A request argument is out of range or malformed.
        public static let invalidRequest = Code(.invalidRequest)
        /// A search would need more tokens than the limits allow (for example a date range too wide).
        public static let searchTooCostly = Code(.searchTooCostly)
    }
}

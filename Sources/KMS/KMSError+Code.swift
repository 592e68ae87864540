extension KMSError {
    /// The kind of a ``KMSError``: one AWS KMS exception name.
    ///
    /// A struct wrapping a private enum, so new codes can be added without breaking code that
    /// switches over the existing ones.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable, CaseIterable {
            case notFound = "NotFoundException"
            case disabled = "DisabledException"
            case invalidState = "KMSInvalidStateException"
            case invalidCiphertext = "InvalidCiphertextException"
            case incorrectKey = "IncorrectKeyException"
            case accessDenied = "AccessDeniedException"
            case invalidKeyUsage = "InvalidKeyUsageException"
            case malformedPolicyDocument = "MalformedPolicyDocumentException"
            case validation = "ValidationException"
            case invalidGrantToken = "InvalidGrantTokenException"
            case invalidGrantID = "InvalidGrantIdException"
            case alreadyExists = "AlreadyExistsException"
            case invalidAliasName = "InvalidAliasNameException"
            case tag = "TagException"
            case limitExceeded = "LimitExceededException"
            case internalFailure = "KMSInternalException"
            case dependencyTimeout = "DependencyTimeoutException"
            case unsupportedOperation = "UnsupportedOperationException"
            case invalidMarker = "InvalidMarkerException"
        }

        private let wrapped: Wrapped

        private init(_ wrapped: Wrapped) {
            self.wrapped = wrapped
        }

        /// Looks up a code by its AWS exception name, e.g. `"DisabledException"`.
        ///
        /// Returns `nil` for a name this module does not know.
        public init?(exceptionName: String) {
            guard let wrapped = Wrapped(rawValue: exceptionName) else { return nil }
            self.wrapped = wrapped
        }

        /// The AWS exception name, e.g. `NotFoundException`; clients match on this string.
        public var exceptionName: String { self.wrapped.rawValue }

        /// The AWS exception name.
        public var description: String { self.exceptionName }

        /// Every code this module defines.
        public static var allCodes: [Code] { Wrapped.allCases.map(Code.init) }

        /// The key, alias, grant or other named entity does not exist.
        public static let notFound = Code(.notFound)
        /// The key is disabled.
        public static let disabled = Code(.disabled)
        /// The key's state (for example `PendingDeletion`) does not allow this operation.
        public static let invalidState = Code(.invalidState)
        /// The ciphertext is malformed, was tampered with, or its encryption context does not match.
        public static let invalidCiphertext = Code(.invalidCiphertext)
        /// The ciphertext was made under a different key than the one the caller named.
        public static let incorrectKey = Code(.incorrectKey)
        /// No policy or grant allows the caller to do this.
        public static let accessDenied = Code(.accessDenied)
        /// The key's usage does not permit this operation.
        public static let invalidKeyUsage = Code(.invalidKeyUsage)
        /// The key policy is not valid JSON, breaks the policy grammar, or is too large.
        public static let malformedPolicyDocument = Code(.malformedPolicyDocument)
        /// A request parameter is out of range or malformed.
        public static let validation = Code(.validation)
        /// A grant token is not valid.
        public static let invalidGrantToken = Code(.invalidGrantToken)
        /// A grant id is not valid.
        public static let invalidGrantID = Code(.invalidGrantID)
        /// The entity to create (for example an alias) already exists.
        public static let alreadyExists = Code(.alreadyExists)
        /// The alias name is not valid or reserved.
        public static let invalidAliasName = Code(.invalidAliasName)
        /// A tag is not valid, or tags cannot be changed on this resource.
        public static let tag = Code(.tag)
        /// A quota (grants per key, aliases, …) would be exceeded.
        public static let limitExceeded = Code(.limitExceeded)
        /// The key service failed internally; the request may be retried.
        public static let internalFailure = Code(.internalFailure)
        /// A dependency (for example the audit store) did not answer; the request failed closed.
        public static let dependencyTimeout = Code(.dependencyTimeout)
        /// The operation is not supported for this key or by this service.
        public static let unsupportedOperation = Code(.unsupportedOperation)
        /// A paging marker is not one this service handed out.
        public static let invalidMarker = Code(.invalidMarker)
    }
}

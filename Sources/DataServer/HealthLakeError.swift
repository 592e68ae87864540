public import DataStore
public import GRPCCore
import KeylakeTransport

/// Metadata keys fhird adds to failed calls.
public enum HealthLakeMetadataKey {
    /// The FHIR `OperationOutcome` JSON explaining a failure.
    public static let operationOutcome = "keylake-operation-outcome"
}

/// An error of the FHIR data service as callers see it: an error name from healthlake.proto,
/// a message, and a FHIR `OperationOutcome`.
///
/// Every failure becomes one of these in ``init(_:)``, and one of these becomes a wire status
/// only through its `RPCErrorConvertible` conformance.
public struct HealthLakeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure: a struct wrapping a private enum so codes can be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case validation = "ValidationException"
            case resourceNotFound = "ResourceNotFoundException"
            case conflict = "ConflictException"
            case versionConflict = "VersionConflictException"
            case datastoreNotActive = "DatastoreNotActiveException"
            case accessDenied = "AccessDeniedException"
            case kmsKeyAccessDenied = "KmsKeyAccessDeniedException"
            case kmsKeyDisabled = "KmsKeyDisabledException"
            case kmsKeyInvalidState = "KmsKeyInvalidStateException"
            case kmsKeyNotFound = "KmsKeyNotFoundException"
            case kmsKeyUnavailable = "KmsKeyUnavailableException"
            case decryptionFailed = "DecryptionFailedException"
            case internalServer = "InternalServerException"
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The error name, e.g. `KmsKeyDisabledException`.
        public var errorName: String { self.wrapped.rawValue }
        /// The error name.
        public var description: String { self.errorName }

        /// The code for an error name, or `nil`.
        public init?(errorName: String) {
            guard let wrapped = Wrapped(rawValue: errorName) else { return nil }
            self.wrapped = wrapped
        }

        /// A malformed request or resource.
        public static let validation = Code(.validation)
        /// The datastore, resource or version does not exist.
        public static let resourceNotFound = Code(.resourceNotFound)
        /// A client token or id is already used with other parameters.
        public static let conflict = Code(.conflict)
        /// If-Match names a version that is not the current one.
        public static let versionConflict = Code(.versionConflict)
        /// The datastore is not ACTIVE.
        public static let datastoreNotActive = Code(.datastoreNotActive)
        /// fhird's access policy does not allow the caller this operation.
        public static let accessDenied = Code(.accessDenied)
        /// kmsd denied use of the key (grant revoked or retired, policy).
        public static let kmsKeyAccessDenied = Code(.kmsKeyAccessDenied)
        /// The KMS key is disabled.
        public static let kmsKeyDisabled = Code(.kmsKeyDisabled)
        /// The KMS key is pending deletion.
        public static let kmsKeyInvalidState = Code(.kmsKeyInvalidState)
        /// The KMS key does not exist.
        public static let kmsKeyNotFound = Code(.kmsKeyNotFound)
        /// kmsd is unreachable.
        public static let kmsKeyUnavailable = Code(.kmsKeyUnavailable)
        /// A stored ciphertext does not authenticate as the row it is in.
        public static let decryptionFailed = Code(.decryptionFailed)
        /// Anything else.
        public static let internalServer = Code(.internalServer)

        /// The FHIR issue type of an outcome for this code.
        var issueType: OperationOutcome.IssueType {
            switch self.wrapped {
            case .validation: .invalid
            case .resourceNotFound: .notFound
            case .conflict, .versionConflict: .conflict
            case .datastoreNotActive: .processing
            case .accessDenied, .kmsKeyAccessDenied, .kmsKeyDisabled, .kmsKeyInvalidState, .kmsKeyNotFound: .security
            case .kmsKeyUnavailable: .exception
            case .decryptionFailed: .processing
            case .internalServer: .exception
            }
        }

        /// The HTTP status line a Bundle response entry carries for a failure with this code,
        /// e.g. `404 Not Found`.
        public var httpStatus: String {
            switch self.wrapped {
            case .validation: "400 Bad Request"
            case .resourceNotFound: "404 Not Found"
            case .conflict, .datastoreNotActive: "409 Conflict"
            case .versionConflict: "412 Precondition Failed"
            case .accessDenied, .kmsKeyAccessDenied, .kmsKeyDisabled, .kmsKeyInvalidState, .kmsKeyNotFound: "403 Forbidden"
            case .kmsKeyUnavailable: "503 Service Unavailable"
            case .decryptionFailed, .internalServer: "500 Internal Server Error"
            }
        }

        var rpcCode: RPCError.Code {
            switch self.wrapped {
            case .validation: .invalidArgument
            case .resourceNotFound: .notFound
            case .conflict: .alreadyExists
            case .versionConflict: .aborted
            case .datastoreNotActive, .kmsKeyDisabled, .kmsKeyInvalidState, .kmsKeyNotFound: .failedPrecondition
            case .accessDenied, .kmsKeyAccessDenied: .permissionDenied
            case .kmsKeyUnavailable: .unavailable
            case .decryptionFailed: .dataLoss
            case .internalServer: .internalError
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, safe to show the caller.
    public var message: String
    /// The FHIR form of the failure.
    public var outcome: OperationOutcome

    /// Creates an error whose outcome has one issue with `message`.
    public init(code: Code, message: String, outcome: OperationOutcome? = nil) {
        self.code = code
        self.message = message
        self.outcome = outcome ?? OperationOutcome(code: code.issueType, diagnostics: message)
    }

    /// `ErrorName: message`.
    public var description: String { "\(self.code): \(self.message)" }

    /// The same error about one entry of a Bundle: the message and every issue's diagnostics
    /// start with `entry N (METHOD url): `, and issues without an expression get
    /// `Bundle.entry[N]`.
    public func about(entry index: Int, request: String) -> HealthLakeError {
        let prefix = "entry \(index) (\(request)): "
        let issues = self.outcome.issues.map { issue in
            var issue = issue
            if !issue.diagnostics.hasPrefix("entry \(index)") { issue.diagnostics = prefix + issue.diagnostics }
            if issue.expression.isEmpty { issue.expression = ["Bundle.entry[\(index)]"] }
            return issue
        }
        let message = self.message.hasPrefix("entry \(index)") ? self.message : prefix + self.message
        return HealthLakeError(code: self.code, message: message, outcome: OperationOutcome(issues: issues))
    }

    /// Compares by code only.
    public static func == (lhs: HealthLakeError, rhs: HealthLakeError) -> Bool { lhs.code == rhs.code }
    /// Hashes the code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    /// Classifies any error fhird's domain throws: the one place where domain failures get a name.
    public init(_ error: any Error) {
        switch error {
        case let error as HealthLakeError:
            self = error
        case let error as FHIRValidationError:
            self.init(code: .validation, message: error.description, outcome: error.outcome)
        case let error as KMSKeyAccessError:
            self.init(keyAccess: error)
        case let error as DataStoreError:
            self.init(dataStore: error)
        case let error as RPCError:
            self.init(code: .internalServer, message: "\(error.code): \(error.message)")
        default:
            self.init(code: .internalServer, message: "\(error)")
        }
    }

    private init(keyAccess error: KMSKeyAccessError) {
        let code: Code
        switch error.cause {
        case .accessDenied, .other: code = .kmsKeyAccessDenied
        case .disabled: code = .kmsKeyDisabled
        case .invalidState: code = .kmsKeyInvalidState
        case .notFound: code = .kmsKeyNotFound
        case .unavailable: code = .kmsKeyUnavailable
        case .invalidCiphertext: code = .decryptionFailed
        }
        self.init(code: code, message: error.description)
    }

    private init(dataStore error: DataStoreError) {
        if error.code == .keyUnavailable, let cause = error.cause as? KMSKeyAccessError {
            self.init(keyAccess: cause)
            return
        }
        let code: Code
        var issueType: OperationOutcome.IssueType?
        switch error.code {
        case .notFound: code = .resourceNotFound
        case .versionConflict: code = .versionConflict
        case .datastoreNotActive: code = .datastoreNotActive
        case .alreadyExists: code = .conflict
        case .invalidRequest, .immutableConfiguration: code = .validation
        case .searchTooCostly: (code, issueType) = (.validation, .tooCostly)
        case .decryptionFailed, .malformedSealedResource: code = .decryptionFailed
        case .keyUnavailable: code = .kmsKeyUnavailable
        default: code = .internalServer
        }
        self.init(code: code, message: error.message, outcome: issueType.map { OperationOutcome(code: $0, diagnostics: error.message) })
    }
}

extension HealthLakeError: RPCErrorConvertible {
    /// The gRPC status code for the error name (see healthlake.proto).
    public var rpcErrorCode: RPCError.Code { self.code.rpcCode }
    /// The message.
    public var rpcErrorMessage: String { self.message }
    /// The error name and the OperationOutcome JSON as trailers.
    public var rpcErrorMetadata: Metadata {
        [
            KeylakeMetadataKey.errorName: .string(self.code.errorName),
            HealthLakeMetadataKey.operationOutcome: .string(String(decoding: self.outcome.serialized(), as: UTF8.self)),
        ]
    }
}

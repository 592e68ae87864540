/// The key service refused or failed a data-key operation on one key: what fhird reports when
/// a grant was revoked, a key disabled or scheduled for deletion, or kmsd cannot be reached.
///
/// ``DataKeyProvider`` implementations throw it; `EnvelopeCipher` wraps it as the cause of a
/// `DataStoreError` `keyUnavailable`, and ``HealthLakeError`` turns it into a `Kms*Exception`
/// status whose message names the key and the cause.
public struct KMSKeyAccessError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why the key cannot be used.
    public enum Cause: String, Hashable, Sendable {
        /// `AccessDeniedException`: no policy or grant allows it (grant revoked or retired).
        case accessDenied
        /// `DisabledException`: the key is disabled.
        case disabled
        /// `KMSInvalidStateException`: the key is pending deletion (or otherwise unusable).
        case invalidState
        /// `NotFoundException`: the key does not exist or is not visible to the caller.
        case notFound
        /// kmsd did not answer: unreachable, overloaded or timed out.
        case unavailable
        /// `InvalidCiphertextException`/`IncorrectKeyException`: the wrapped data key is not
        /// one made for this context or key, i.e. the stored ciphertext belongs to another row.
        case invalidCiphertext
        /// Any other refusal (for example `InvalidCiphertextException`).
        case other

        /// The error name fhird reports (see healthlake.proto).
        public var errorName: String {
            switch self {
            case .accessDenied: "KmsKeyAccessDeniedException"
            case .disabled: "KmsKeyDisabledException"
            case .invalidState: "KmsKeyInvalidStateException"
            case .notFound: "KmsKeyNotFoundException"
            case .unavailable: "KmsKeyUnavailableException"
            case .invalidCiphertext: "DecryptionFailedException"
            case .other: "KmsKeyAccessDeniedException"
            }
        }

        /// What the cause means, for messages.
        var explanation: String {
            switch self {
            case .accessDenied: "access denied (the grant was revoked or retired, or the key policy does not allow it)"
            case .disabled: "the key is disabled"
            case .invalidState: "the key is pending deletion or in a state that does not allow this operation"
            case .notFound: "the key does not exist"
            case .unavailable: "the key service is unavailable"
            case .invalidCiphertext: "the wrapped data key does not belong to this resource version (altered or moved ciphertext)"
            case .other: "the key service refused the operation"
            }
        }

        /// The cause for a kmsd exception name.
        init(exceptionName: String) {
            switch exceptionName {
            case "AccessDeniedException": self = .accessDenied
            case "DisabledException": self = .disabled
            case "KMSInvalidStateException": self = .invalidState
            case "NotFoundException": self = .notFound
            case "DependencyTimeoutException", "KMSInternalException": self = .unavailable
            case "InvalidCiphertextException", "IncorrectKeyException": self = .invalidCiphertext
            default: self = .other
            }
        }
    }

    /// The key (ARN, or the id as given when no ARN is known).
    public var keyARN: String
    /// Why it cannot be used.
    public var cause: Cause
    /// The operation that failed, e.g. `Decrypt`.
    public var operation: String
    /// kmsd's exception name, when it sent one.
    public var keyServiceErrorName: String
    /// kmsd's message.
    public var keyServiceMessage: String

    /// Creates an error.
    public init(keyARN: String, cause: Cause, operation: String, keyServiceErrorName: String = "", keyServiceMessage: String = "") {
        self.keyARN = keyARN
        self.cause = cause
        self.operation = operation
        self.keyServiceErrorName = keyServiceErrorName
        self.keyServiceMessage = keyServiceMessage
    }

    /// `KMS key ARN cannot be used for OPERATION: CAUSE (kmsd: NAME: MESSAGE)`.
    public var description: String {
        var text = "KMS key \(self.keyARN) cannot be used for \(self.operation): \(self.cause.explanation)"
        if !self.keyServiceErrorName.isEmpty || !self.keyServiceMessage.isEmpty {
            text += " (kmsd: \(self.keyServiceErrorName.isEmpty ? "" : self.keyServiceErrorName + ": ")\(self.keyServiceMessage))"
        }
        return text
    }
}

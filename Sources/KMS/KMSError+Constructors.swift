extension KMSError {
    /// A `NotFoundException`.
    public static func notFound(_ message: String, file: String = #fileID, line: UInt = #line) -> KMSError {
        KMSError(code: .notFound, message: message, file: file, line: line)
    }

    /// A `DisabledException`.
    public static func disabled(_ message: String, file: String = #fileID, line: UInt = #line) -> KMSError {
        KMSError(code: .disabled, message: message, file: file, line: line)
    }

    /// A `KMSInvalidStateException`.
    public static func invalidState(_ message: String, file: String = #fileID, line: UInt = #line) -> KMSError {
        KMSError(code: .invalidState, message: message, file: file, line: line)
    }

    /// An `InvalidCiphertextException`.
    ///
    /// Callers should not learn which check failed beyond what is needed to fix their request, so
    /// messages stay generic about authentication failures.
    public static func invalidCiphertext(_ message: String, file: String = #fileID, line: UInt = #line) -> KMSError {
        KMSError(code: .invalidCiphertext, message: message, file: file, line: line)
    }

    /// An `IncorrectKeyException`.
    public static func incorrectKey(_ message: String, file: String = #fileID, line: UInt = #line) -> KMSError {
        KMSError(code: .incorrectKey, message: message, file: file, line: line)
    }

    /// An `AccessDeniedException`.
    public static func accessDenied(_ message: String, file: String = #fileID, line: UInt = #line) -> KMSError {
        KMSError(code: .accessDenied, message: message, file: file, line: line)
    }

    /// A `MalformedPolicyDocumentException`; the message names the offending element.
    public static func malformedPolicyDocument(
        _ message: String,
        file: String = #fileID,
        line: UInt = #line
    ) -> KMSError {
        KMSError(code: .malformedPolicyDocument, message: message, file: file, line: line)
    }

    /// A `ValidationException`.
    public static func validation(_ message: String, file: String = #fileID, line: UInt = #line) -> KMSError {
        KMSError(code: .validation, message: message, file: file, line: line)
    }

    /// A `KMSInternalException`, keeping the underlying error as ``cause``.
    public static func internalFailure(
        _ message: String,
        cause: (any Error)? = nil,
        file: String = #fileID,
        line: UInt = #line
    ) -> KMSError {
        KMSError(code: .internalFailure, message: message, cause: cause, file: file, line: line)
    }

    /// A `DependencyTimeoutException`, keeping the underlying error as ``cause``.
    public static func dependencyTimeout(
        _ message: String,
        cause: (any Error)? = nil,
        file: String = #fileID,
        line: UInt = #line
    ) -> KMSError {
        KMSError(code: .dependencyTimeout, message: message, cause: cause, file: file, line: line)
    }
}

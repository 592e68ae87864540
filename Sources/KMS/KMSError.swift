/// An error from the key service, named as AWS KMS names its exceptions.
///
/// A ``KMSError`` carries a ``code`` (the AWS exception name a client sees), a human-readable
/// ``message`` and, optionally, the underlying ``cause``. Two errors compare equal when their codes
/// are equal: this keeps tests simple (`#expect(throws: KMSError.invalidCiphertext(...))`) and
/// the message is free to change without breaking callers.
///
/// The message is shown to callers and written to the audit trail, so it must never contain key
/// material, plaintext or data keys. Every constructor in this module follows that rule; code
/// adding new throw sites must do the same.
public struct KMSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure, which names the AWS exception returned to the caller.
    public var code: Code

    /// A description of what went wrong, safe to show to the caller and to audit.
    public var message: String

    /// The lower-level error that led to this one, if any; for diagnostics only.
    public var cause: (any Error)?

    /// The source file that raised the error.
    public var file: String

    /// The source line that raised the error.
    public var line: UInt

    /// Creates an error with a code and a message.
    ///
    /// - Parameters:
    ///   - code: The AWS exception this error maps to.
    ///   - message: A description safe to show callers: never key material or plaintext.
    ///   - cause: The lower-level error, if any.
    public init(
        code: Code,
        message: String,
        cause: (any Error)? = nil,
        file: String = #fileID,
        line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    /// The code and message, as a client would see them, e.g. `NotFoundException: Key … not found`.
    public var description: String {
        "\(self.code.exceptionName): \(self.message)"
    }

    /// Compares by ``code`` only.
    public static func == (lhs: KMSError, rhs: KMSError) -> Bool {
        lhs.code == rhs.code
    }

    /// Hashes the ``code`` only, consistent with ``==(_:_:)``.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
    }
}

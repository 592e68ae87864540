import Foundation

/// An error thrown by the development PKI.
///
/// Check ``code`` to decide what to do; ``message`` explains the specific cause for people. Like
/// swift-certificates' `CertificateError`, equality and hashing consider only ``code``, so a test can compare
/// a thrown error against one built with a factory such as ``invalidPrincipal(_:file:line:)``. The
/// description includes the source location where the error was raised.
public struct DevPKIError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of error that was encountered.
    public var code: Code

    /// A human-readable explanation of this particular failure.
    public var message: String

    /// The source file (`#fileID`) where the error was raised.
    public var file: String

    /// The source line where the error was raised.
    public var line: UInt

    /// Creates an error; prefer the static factories, which capture the source location for you.
    ///
    /// - Parameters:
    ///   - code: The kind of error.
    ///   - message: A human-readable explanation.
    ///   - file: The file where the error occurs.
    ///   - line: The line where the error occurs.
    public init(code: Code, message: String, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    /// A one-line rendering: code, message and source location.
    public var description: String {
        "DevPKIError.\(self.code): \(self.message) (\(self.file):\(self.line))"
    }

    /// Compares only the ``code`` of two errors.
    public static func == (lhs: DevPKIError, rhs: DevPKIError) -> Bool {
        lhs.code == rhs.code
    }

    /// Hashes only the ``code``.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
    }

    /// A principal is empty, contains whitespace or control characters, or is not ASCII.
    ///
    /// - Parameters:
    ///   - message: What was wrong with which principal.
    ///   - file: The file where the error occurs.
    ///   - line: The line where the error occurs.
    /// - Returns: An error with ``code`` set to ``Code/invalidPrincipal``.
    public static func invalidPrincipal(_ message: String, file: String = #fileID, line: UInt = #line) -> DevPKIError {
        DevPKIError(code: .invalidPrincipal, message: message, file: file, line: line)
    }

    /// The development home directory could not be created or written to.
    ///
    /// - Parameters:
    ///   - message: Which path failed and why.
    ///   - file: The file where the error occurs.
    ///   - line: The line where the error occurs.
    /// - Returns: An error with ``code`` set to ``Code/directoryNotWritable``.
    public static func directoryNotWritable(_ message: String, file: String = #fileID, line: UInt = #line) -> DevPKIError {
        DevPKIError(code: .directoryNotWritable, message: message, file: file, line: line)
    }

    /// A directory has no `identities.json`.
    ///
    /// - Parameters:
    ///   - message: Which file is missing.
    ///   - file: The file where the error occurs.
    ///   - line: The line where the error occurs.
    /// - Returns: An error with ``code`` set to ``Code/identitiesMissing``.
    public static func identitiesMissing(_ message: String, file: String = #fileID, line: UInt = #line) -> DevPKIError {
        DevPKIError(code: .identitiesMissing, message: message, file: file, line: line)
    }

    /// An `identities.json` exists but cannot be read or does not have the expected shape.
    ///
    /// - Parameters:
    ///   - message: What was wrong with the file.
    ///   - file: The file where the error occurs.
    ///   - line: The line where the error occurs.
    /// - Returns: An error with ``code`` set to ``Code/identitiesMalformed``.
    public static func identitiesMalformed(_ message: String, file: String = #fileID, line: UInt = #line) -> DevPKIError {
        DevPKIError(code: .identitiesMalformed, message: message, file: file, line: line)
    }

    /// No identity with the requested name exists.
    ///
    /// - Parameters:
    ///   - message: Which name was asked for.
    ///   - file: The file where the error occurs.
    ///   - line: The line where the error occurs.
    /// - Returns: An error with ``code`` set to ``Code/unknownName``.
    public static func unknownName(_ message: String, file: String = #fileID, line: UInt = #line) -> DevPKIError {
        DevPKIError(code: .unknownName, message: message, file: file, line: line)
    }

    /// An ``IdentitySpec`` or validity period cannot be turned into a certificate.
    ///
    /// Raised for an empty name, a malformed DNS name or IP address, or a validity period that ends before it starts.
    ///
    /// - Parameters:
    ///   - message: Which field was wrong.
    ///   - file: The file where the error occurs.
    ///   - line: The line where the error occurs.
    /// - Returns: An error with ``code`` set to ``Code/invalidIdentitySpec``.
    public static func invalidIdentitySpec(_ message: String, file: String = #fileID, line: UInt = #line) -> DevPKIError {
        DevPKIError(code: .invalidIdentitySpec, message: message, file: file, line: line)
    }

    /// A certificate authority's PEM files cannot be loaded, do not match, or do not describe a CA.
    ///
    /// - Parameters:
    ///   - message: What was wrong.
    ///   - file: The file where the error occurs.
    ///   - line: The line where the error occurs.
    /// - Returns: An error with ``code`` set to ``Code/invalidCertificateAuthority``.
    public static func invalidCertificateAuthority(
        _ message: String,
        file: String = #fileID,
        line: UInt = #line
    ) -> DevPKIError {
        DevPKIError(code: .invalidCertificateAuthority, message: message, file: file, line: line)
    }

    /// The certificate authority of an existing home has expired, so it cannot issue useful certificates.
    ///
    /// - Parameters:
    ///   - message: When the CA expired.
    ///   - file: The file where the error occurs.
    ///   - line: The line where the error occurs.
    /// - Returns: An error with ``code`` set to ``Code/certificateAuthorityExpired``.
    public static func certificateAuthorityExpired(
        _ message: String,
        file: String = #fileID,
        line: UInt = #line
    ) -> DevPKIError {
        DevPKIError(code: .certificateAuthorityExpired, message: message, file: file, line: line)
    }

    /// Building, signing or encoding a certificate failed inside swift-certificates or swift-crypto.
    ///
    /// - Parameters:
    ///   - message: The underlying error.
    ///   - file: The file where the error occurs.
    ///   - line: The line where the error occurs.
    /// - Returns: An error with ``code`` set to ``Code/issuanceFailed``.
    public static func issuanceFailed(_ message: String, file: String = #fileID, line: UInt = #line) -> DevPKIError {
        DevPKIError(code: .issuanceFailed, message: message, file: file, line: line)
    }
}

extension DevPKIError: LocalizedError {
    /// The ``message``, so that `localizedDescription` is useful on every platform.
    public var errorDescription: String? { self.message }
}

extension DevPKIError {
    /// The kind of a ``DevPKIError``.
    ///
    /// New codes may be added; do not switch over them exhaustively.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: String, Hashable, Sendable {
            case invalidPrincipal
            case directoryNotWritable
            case identitiesMissing
            case identitiesMalformed
            case unknownName
            case invalidIdentitySpec
            case invalidCertificateAuthority
            case certificateAuthorityExpired
            case issuanceFailed
        }

        private var backing: Backing

        private init(_ backing: Backing) {
            self.backing = backing
        }

        /// A principal is empty, contains whitespace or control characters, or is not ASCII.
        public static let invalidPrincipal = Code(.invalidPrincipal)

        /// The development home directory could not be created or written to.
        public static let directoryNotWritable = Code(.directoryNotWritable)

        /// A directory has no `identities.json`.
        public static let identitiesMissing = Code(.identitiesMissing)

        /// An `identities.json` cannot be read or does not have the expected shape.
        public static let identitiesMalformed = Code(.identitiesMalformed)

        /// No identity with the requested name exists.
        public static let unknownName = Code(.unknownName)

        /// An ``IdentitySpec`` or validity period cannot be turned into a certificate.
        public static let invalidIdentitySpec = Code(.invalidIdentitySpec)

        /// A certificate authority's PEM files cannot be loaded, do not match, or do not describe a CA.
        public static let invalidCertificateAuthority = Code(.invalidCertificateAuthority)

        /// The certificate authority of an existing home has expired.
        public static let certificateAuthorityExpired = Code(.certificateAuthorityExpired)

        /// Building, signing or encoding a certificate failed in a dependency.
        public static let issuanceFailed = Code(.issuanceFailed)

        /// The code's name, e.g. `invalidPrincipal`.
        public var description: String { self.backing.rawValue }
    }
}

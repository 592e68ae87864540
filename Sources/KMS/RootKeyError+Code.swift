extension RootKeyError {
    /// The kind of a ``RootKeyError``; extensible, like ``KMSError/Code``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case fileMissing
            case unreadable
            case notARegularFile
            case insecurePermissions
            case wrongLength
            case alreadyExists
            case writeFailed
            case mismatch
        }

        private let wrapped: Wrapped

        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The code's name.
        public var description: String { self.wrapped.rawValue }

        /// No file exists at the configured path.
        public static let fileMissing = Code(.fileMissing)
        /// The file exists but could not be opened or read.
        public static let unreadable = Code(.unreadable)
        /// The path names a directory, device or other non-regular file.
        public static let notARegularFile = Code(.notARegularFile)
        /// Group or others may access the file; it must be mode 0600 (or stricter).
        public static let insecurePermissions = Code(.insecurePermissions)
        /// The file does not hold exactly 32 bytes.
        public static let wrongLength = Code(.wrongLength)
        /// ``RootKey/create(at:)`` refused to overwrite an existing file.
        public static let alreadyExists = Code(.alreadyExists)
        /// Writing a new root key file failed.
        public static let writeFailed = Code(.writeFailed)
        /// The root key is not the one the key store was created with.
        public static let mismatch = Code(.mismatch)
    }
}

extension KeyStoreLockError {
    /// The kind of a ``KeyStoreLockError``; extensible, like ``KMSError/Code``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case inUse
            case unavailable
        }

        private let wrapped: Wrapped

        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The code's name.
        public var description: String { self.wrapped.rawValue }

        /// Another process (a running `kmsd`, or a root-key rotation) holds the store's lock.
        public static let inUse = Code(.inUse)
        /// The lock file could not be created, opened or locked.
        public static let unavailable = Code(.unavailable)
    }
}

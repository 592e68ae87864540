/// An error of the transport itself (configuration, binding), as opposed to a call's status.
///
/// Errors compare by ``code``; the message is for people.
public struct TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, extensibly.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case invalidConfiguration, bindFailed, alreadyListening, notListening
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A setting or file is unusable.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The listening socket could not be opened.
        public static let bindFailed = Code(.bindFailed)
        /// `listen` was called twice.
        public static let alreadyListening = Code(.alreadyListening)
        /// The server is not listening (yet, or any more).
        public static let notListening = Code(.notListening)

        public var description: String { "\(self.wrapped)" }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
    public var description: String { "\(self.code): \(self.message)" }
}

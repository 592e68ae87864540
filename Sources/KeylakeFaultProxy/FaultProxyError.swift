/// An error of the fault proxy: a bad toxic or control command, or a socket that cannot be opened.
///
/// Errors compare by ``code``; the message is for people and never contains forwarded bytes.
public struct FaultProxyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, extensibly.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case invalidToxic, invalidCommand, invalidAddress, duplicateToxic, unknownToxic, bindFailed, notRunning
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A toxic spec or parameter is malformed or out of range.
        public static let invalidToxic = Code(.invalidToxic)
        /// A control command is malformed or unknown.
        public static let invalidCommand = Code(.invalidCommand)
        /// A HOST:PORT address is malformed.
        public static let invalidAddress = Code(.invalidAddress)
        /// A toxic with that name already exists (use update to change it).
        public static let duplicateToxic = Code(.duplicateToxic)
        /// No toxic has that name.
        public static let unknownToxic = Code(.unknownToxic)
        /// The listening socket could not be opened.
        public static let bindFailed = Code(.bindFailed)
        /// The proxy was shut down (or never started).
        public static let notRunning = Code(.notRunning)

        public var description: String {
            switch self.wrapped {
            case .invalidToxic: "invalid_toxic"
            case .invalidCommand: "invalid_command"
            case .invalidAddress: "invalid_address"
            case .duplicateToxic: "duplicate_toxic"
            case .unknownToxic: "unknown_toxic"
            case .bindFailed: "bind_failed"
            case .notRunning: "not_running"
            }
        }
    }

    /// What went wrong.
    public var code: Code
    /// What went wrong, for people.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
    public var description: String { "\(self.code): \(self.message)" }
}

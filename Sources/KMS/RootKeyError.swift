/// Why the root key could not be loaded, created or accepted.
///
/// These are start-up failures of `kmsd`, not request errors: each message says what is wrong
/// with the file and what to do, and never contains key bytes. Errors compare by ``code``.
public struct RootKeyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var code: Code

    /// A description for the operator: path, mode found, and how to fix it.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The code and message.
    public var description: String { "RootKeyError.\(self.code): \(self.message)" }

    /// Compares by ``code`` only.
    public static func == (lhs: RootKeyError, rhs: RootKeyError) -> Bool { lhs.code == rhs.code }

    /// Hashes the ``code`` only.
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}

/// Why the key store's lock file could not be taken.
///
/// Only one process may have a key store open for writing: a running `kmsd`, or
/// `kmsd rotate-root-key` while it runs. Each message names the store and says what to do, and
/// errors compare by ``code``.
public struct KeyStoreLockError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var code: Code

    /// A description for the operator: the store, who holds it and what to do.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The code and message.
    public var description: String { "KeyStoreLockError.\(self.code): \(self.message)" }

    /// Compares by ``code`` only.
    public static func == (lhs: KeyStoreLockError, rhs: KeyStoreLockError) -> Bool { lhs.code == rhs.code }

    /// Hashes the ``code`` only.
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}

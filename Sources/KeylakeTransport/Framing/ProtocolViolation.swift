/// A breach of the wire protocol by the peer; it ends the connection with GOAWAY.
///
/// Violations compare by ``code`` only, so tests can match them without the reason text.
package struct ProtocolViolation: Error, Hashable, Sendable, CustomStringConvertible {
    /// The GOAWAY code that reports this violation to the peer.
    package var code: Keylake_Transport_V1_GoAwayCode
    /// Human-readable reason; goes into the GOAWAY frame and the server log. Never holds payload bytes.
    package var reason: String

    package init(_ code: Keylake_Transport_V1_GoAwayCode, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    package static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    package func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    package var description: String { "\(self.code): \(self.reason)" }

    static func protocolError(_ reason: String) -> Self { Self(.protocolError, reason) }
}

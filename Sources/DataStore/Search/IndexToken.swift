/// One blind token: a keyed 16-byte digest of a normalized search value, filed under the
/// parameter it belongs to. Tokens reveal equality of values under one datastore's key and
/// nothing else.
public struct IndexToken: Hashable, Sendable, CustomStringConvertible {
    /// The parameter name, e.g. `family` (the resource type is stored beside it).
    public let parameter: String
    /// The first 16 bytes of HMAC-SHA256(index key, qualified name || 0x00 || normalized value).
    public let bytes: [UInt8]

    /// Creates a token.
    public init(parameter: String, bytes: [UInt8]) {
        self.parameter = parameter
        self.bytes = bytes
    }

    /// `parameter:hex`.
    public var description: String {
        self.parameter + ":" + self.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// The tokens of one search parameter value: a resource matches when it has any of them.
public struct SearchClause: Hashable, Sendable {
    /// The parameter.
    public let parameter: SearchParameter
    /// The tokens, any of which matches. Empty: the clause matches nothing.
    public let tokens: Set<IndexToken>
    /// Whether the tokens may match more than the value asks for (a string longer than the
    /// indexed prefix length), so the caller must check the decrypted resources.
    public let needsPostFilter: Bool
    /// The string alternatives as searched, folded (set when ``needsPostFilter`` is), for
    /// ``BlindIndex/postFilterMatches(_:resource:)``.
    public var foldedAlternatives: [String] = []
}

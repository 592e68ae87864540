/// Why a document is not acceptable JSON, and where.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem.
    public enum Reason: Hashable, Sendable {
        /// The document is longer than ``JSONParsingLimits/maximumBytes``.
        case tooLarge(limit: Int)
        /// Arrays and objects nest deeper than ``JSONParsingLimits/maximumDepth``.
        case tooDeep(limit: Int)
        /// An object has the same key twice.
        case duplicateKey(String)
        /// The bytes are not UTF-8, or an escape names a lone surrogate.
        case invalidUnicode
        /// The document ends in the middle of a value.
        case unexpectedEnd
        /// A byte that the grammar does not allow here.
        case unexpectedByte(UInt8)
        /// Something follows the top-level value.
        case trailingContent
    }

    /// The kind of problem.
    public var reason: Reason

    /// The byte offset where the problem was found.
    public var offset: Int

    /// Creates an error.
    public init(_ reason: Reason, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    /// A message for an `OperationOutcome`: never quotes document content except a key name.
    public var description: String {
        switch self.reason {
        case .tooLarge(let limit): "the document is larger than the limit of \(limit) bytes"
        case .tooDeep(let limit): "arrays and objects nest deeper than the limit of \(limit) levels (at byte \(self.offset))"
        case .duplicateKey(let key): "duplicate key \"\(key.prefix(64))\" in an object (at byte \(self.offset))"
        case .invalidUnicode: "invalid UTF-8 or Unicode escape at byte \(self.offset)"
        case .unexpectedEnd: "the document ends in the middle of a value (at byte \(self.offset))"
        case .unexpectedByte(let byte): "unexpected byte 0x\(String(byte, radix: 16)) at byte \(self.offset)"
        case .trailingContent: "content after the end of the JSON value at byte \(self.offset)"
        }
    }
}

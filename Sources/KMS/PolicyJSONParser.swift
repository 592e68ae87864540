/// A strict RFC 8259 JSON parser for policy documents.
///
/// Written for hostile input rather than using `JSONSerialization`: it rejects duplicate member
/// names (a policy with two `"Effect"` members must not mean whichever one a parser happens to
/// keep), bounds nesting depth before recursing, and reports the byte offset of the first error.
struct PolicyJSONParser {
    /// A syntax error at a byte offset.
    struct SyntaxError: Error, Hashable {
        let offset: Int
        let reason: String
    }

    private let bytes: [UInt8]
    private let maximumDepth: Int
    private var offset = 0

    /// Parses one JSON value that must span the whole document (surrounding whitespace allowed).
    static func parse(_ text: String, maximumDepth: Int) throws(SyntaxError) -> PolicyJSON {
        var parser = PolicyJSONParser(bytes: Array(text.utf8), maximumDepth: maximumDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 1)
        parser.skipWhitespace()
        guard parser.offset == parser.bytes.count else {
            throw parser.error("unexpected content after the JSON value")
        }
        return value
    }

    private init(bytes: [UInt8], maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    private func error(_ reason: String) -> SyntaxError {
        SyntaxError(offset: self.offset, reason: reason)
    }

    private var current: UInt8? {
        self.offset < self.bytes.count ? self.bytes[self.offset] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = self.current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
            self.offset += 1
        }
    }

    private mutating func expect(_ literal: String, value: PolicyJSON) throws(SyntaxError) -> PolicyJSON {
        let expected = Array(literal.utf8)
        guard self.bytes.count - self.offset >= expected.count,
            Array(self.bytes[self.offset..<(self.offset + expected.count)]) == expected
        else {
            throw self.error("invalid literal, expected '\(literal)'")
        }
        self.offset += expected.count
        return value
    }

    private mutating func parseValue(depth: Int) throws(SyntaxError) -> PolicyJSON {
        guard let byte = self.current else { throw self.error("unexpected end of document") }
        switch byte {
        case UInt8(ascii: "{"): return try self.parseObject(depth: depth)
        case UInt8(ascii: "["): return try self.parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try self.parseString())
        case UInt8(ascii: "t"): return try self.expect("true", value: .bool(true))
        case UInt8(ascii: "f"): return try self.expect("false", value: .bool(false))
        case UInt8(ascii: "n"): return try self.expect("null", value: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try self.parseNumber())
        default: throw self.error("unexpected character")
        }
    }

    private mutating func parseObject(depth: Int) throws(SyntaxError) -> PolicyJSON {
        guard depth <= self.maximumDepth else { throw self.error("nesting deeper than \(self.maximumDepth) levels") }
        self.offset += 1  // {
        var members = [PolicyJSON.Member]()
        var names = Set<String>()
        self.skipWhitespace()
        if self.current == UInt8(ascii: "}") {
            self.offset += 1
            return .object(members)
        }
        while true {
            self.skipWhitespace()
            guard self.current == UInt8(ascii: "\"") else { throw self.error("expected a member name in double quotes") }
            let nameOffset = self.offset
            let name = try self.parseString()
            guard names.insert(name).inserted else {
                throw SyntaxError(offset: nameOffset, reason: "duplicate member name '\(name)'")
            }
            self.skipWhitespace()
            guard self.current == UInt8(ascii: ":") else { throw self.error("expected ':' after member name") }
            self.offset += 1
            self.skipWhitespace()
            members.append(PolicyJSON.Member(name: name, value: try self.parseValue(depth: depth + 1)))
            self.skipWhitespace()
            switch self.current {
            case UInt8(ascii: ","): self.offset += 1
            case UInt8(ascii: "}"):
                self.offset += 1
                return .object(members)
            default: throw self.error("expected ',' or '}' in object")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(SyntaxError) -> PolicyJSON {
        guard depth <= self.maximumDepth else { throw self.error("nesting deeper than \(self.maximumDepth) levels") }
        self.offset += 1  // [
        var elements = [PolicyJSON]()
        self.skipWhitespace()
        if self.current == UInt8(ascii: "]") {
            self.offset += 1
            return .array(elements)
        }
        while true {
            self.skipWhitespace()
            elements.append(try self.parseValue(depth: depth + 1))
            self.skipWhitespace()
            switch self.current {
            case UInt8(ascii: ","): self.offset += 1
            case UInt8(ascii: "]"):
                self.offset += 1
                return .array(elements)
            default: throw self.error("expected ',' or ']' in array")
            }
        }
    }

    private mutating func parseNumber() throws(SyntaxError) -> String {
        let start = self.offset
        func digits(_ parser: inout PolicyJSONParser) -> Int {
            var count = 0
            while let byte = parser.current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                parser.offset += 1
                count += 1
            }
            return count
        }
        if self.current == UInt8(ascii: "-") { self.offset += 1 }
        if self.current == UInt8(ascii: "0") {
            self.offset += 1
        } else if digits(&self) == 0 {
            throw self.error("invalid number")
        }
        if self.current == UInt8(ascii: ".") {
            self.offset += 1
            guard digits(&self) > 0 else { throw self.error("invalid number: digits expected after '.'") }
        }
        if self.current == UInt8(ascii: "e") || self.current == UInt8(ascii: "E") {
            self.offset += 1
            if self.current == UInt8(ascii: "+") || self.current == UInt8(ascii: "-") { self.offset += 1 }
            guard digits(&self) > 0 else { throw self.error("invalid number: digits expected in exponent") }
        }
        return String(decoding: self.bytes[start..<self.offset], as: UTF8.self)
    }

    private mutating func parseString() throws(SyntaxError) -> String {
        self.offset += 1  // opening quote
        var scalars = String.UnicodeScalarView()
        var runStart = self.offset
        func flushRun(_ parser: PolicyJSONParser) {
            if runStart < parser.offset {
                // The input came from a Swift String, so it is valid UTF-8 and runs never split a
                // multi-byte sequence (they end only at ASCII '"' or '\').
                scalars.append(contentsOf: String(decoding: parser.bytes[runStart..<parser.offset], as: UTF8.self).unicodeScalars)
            }
        }
        while true {
            guard let byte = self.current else { throw self.error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                flushRun(self)
                self.offset += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                flushRun(self)
                self.offset += 1
                scalars.append(try self.parseEscape())
                runStart = self.offset
            case 0x00..<0x20:
                throw self.error("control character in string must be escaped")
            default:
                self.offset += 1
            }
        }
    }

    private mutating func parseEscape() throws(SyntaxError) -> Unicode.Scalar {
        guard let byte = self.current else { throw self.error("unterminated escape") }
        self.offset += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try self.parseHexQuad()
            if (0xD800..<0xDC00).contains(high) {
                guard self.current == UInt8(ascii: "\\"), self.offset + 1 < self.bytes.count,
                    self.bytes[self.offset + 1] == UInt8(ascii: "u")
                else { throw self.error("unpaired surrogate in \\u escape") }
                self.offset += 2
                let low = try self.parseHexQuad()
                guard (0xDC00..<0xE000).contains(low) else { throw self.error("invalid low surrogate in \\u escape") }
                return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
            }
            guard let scalar = Unicode.Scalar(high) else { throw self.error("unpaired surrogate in \\u escape") }
            return scalar
        default:
            throw self.error("invalid escape sequence")
        }
    }

    private mutating func parseHexQuad() throws(SyntaxError) -> UInt32 {
        guard self.bytes.count - self.offset >= 4 else { throw self.error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = self.bytes[self.offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw self.error("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            self.offset += 1
        }
        return value
    }
}

extension JSONValue {
    /// Parses one JSON document (RFC 8259) strictly.
    ///
    /// Stricter than `JSONSerialization` where FHIR needs it: duplicate keys, invalid UTF-8,
    /// lone surrogate escapes and nesting beyond the limit are errors. The size limit is checked
    /// before anything is read and the depth limit before each nested value, so hostile input
    /// costs at most one pass over bounded bytes.
    ///
    /// - Throws: ``JSONParseError`` naming the problem and its byte offset.
    public static func parse(
        _ bytes: some Collection<UInt8>,
        limits: JSONParsingLimits = JSONParsingLimits()
    ) throws(JSONParseError) -> JSONValue {
        guard bytes.count <= limits.maximumBytes else {
            throw JSONParseError(.tooLarge(limit: limits.maximumBytes), offset: limits.maximumBytes)
        }
        let contiguous = Array(bytes)
        let result: Result<JSONValue, JSONParseError> = contiguous.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer: buffer, maximumDepth: limits.maximumDepth)
            do throws(JSONParseError) {
                return .success(try parser.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// A recursive-descent parser over a byte buffer; recursion depth is bounded by the limit.
private struct JSONParser {
    let buffer: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    var index = 0

    init(buffer: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.buffer = buffer
        self.maximumDepth = maximumDepth
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        // A UTF-8 byte order mark is not JSON (RFC 8259 §8.1 lets parsers ignore it; FHIR
        // servers reject it, and so do we: it shows up as an unexpected byte).
        let value = try self.parseValue(depth: 0)
        self.skipWhitespace()
        guard self.index == self.buffer.count else {
            throw JSONParseError(.trailingContent, offset: self.index)
        }
        return value
    }

    mutating func skipWhitespace() {
        while self.index < self.buffer.count {
            switch self.buffer[self.index] {
            case 0x20, 0x09, 0x0A, 0x0D: self.index += 1
            default: return
            }
        }
    }

    func peek() throws(JSONParseError) -> UInt8 {
        guard self.index < self.buffer.count else { throw JSONParseError(.unexpectedEnd, offset: self.index) }
        return self.buffer[self.index]
    }

    mutating func expect(_ literal: StaticString, value: JSONValue) throws(JSONParseError) -> JSONValue {
        let count = literal.utf8CodeUnitCount
        for offset in 0..<count {
            let byte = try self.peek()
            guard byte == literal.utf8Start[offset] else {
                throw JSONParseError(.unexpectedByte(byte), offset: self.index)
            }
            self.index += 1
        }
        return value
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        self.skipWhitespace()
        let byte = try self.peek()
        switch byte {
        case UInt8(ascii: "{"):
            guard depth < self.maximumDepth else {
                throw JSONParseError(.tooDeep(limit: self.maximumDepth), offset: self.index)
            }
            return .object(try self.parseObject(depth: depth + 1))
        case UInt8(ascii: "["):
            guard depth < self.maximumDepth else {
                throw JSONParseError(.tooDeep(limit: self.maximumDepth), offset: self.index)
            }
            return .array(try self.parseArray(depth: depth + 1))
        case UInt8(ascii: "\""):
            return .string(try self.parseString())
        case UInt8(ascii: "t"):
            return try self.expect("true", value: .bool(true))
        case UInt8(ascii: "f"):
            return try self.expect("false", value: .bool(false))
        case UInt8(ascii: "n"):
            return try self.expect("null", value: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try self.parseNumber())
        default:
            throw JSONParseError(.unexpectedByte(byte), offset: self.index)
        }
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONObject {
        self.index += 1  // {
        var members: [JSONObject.Member] = []
        var seen: Set<String> = []
        self.skipWhitespace()
        if try self.peek() == UInt8(ascii: "}") {
            self.index += 1
            return JSONObject(members: members)
        }
        while true {
            self.skipWhitespace()
            let keyOffset = self.index
            let byte = try self.peek()
            guard byte == UInt8(ascii: "\"") else {
                throw JSONParseError(.unexpectedByte(byte), offset: self.index)
            }
            let key = try self.parseString()
            guard seen.insert(key).inserted else {
                throw JSONParseError(.duplicateKey(key), offset: keyOffset)
            }
            self.skipWhitespace()
            let colon = try self.peek()
            guard colon == UInt8(ascii: ":") else {
                throw JSONParseError(.unexpectedByte(colon), offset: self.index)
            }
            self.index += 1
            let value = try self.parseValue(depth: depth)
            members.append(JSONObject.Member(key: key, value: value))
            self.skipWhitespace()
            let separator = try self.peek()
            self.index += 1
            switch separator {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "}"): return JSONObject(members: members)
            default: throw JSONParseError(.unexpectedByte(separator), offset: self.index - 1)
            }
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> [JSONValue] {
        self.index += 1  // [
        var elements: [JSONValue] = []
        self.skipWhitespace()
        if try self.peek() == UInt8(ascii: "]") {
            self.index += 1
            return elements
        }
        while true {
            elements.append(try self.parseValue(depth: depth))
            self.skipWhitespace()
            let separator = try self.peek()
            self.index += 1
            switch separator {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "]"): return elements
            default: throw JSONParseError(.unexpectedByte(separator), offset: self.index - 1)
            }
        }
    }

    mutating func parseNumber() throws(JSONParseError) -> String {
        let start = self.index
        if self.buffer[self.index] == UInt8(ascii: "-") { self.index += 1 }
        // int: 0 | [1-9][0-9]*
        let first = try self.peek()
        if first == UInt8(ascii: "0") {
            self.index += 1
        } else if first >= UInt8(ascii: "1") && first <= UInt8(ascii: "9") {
            self.skipDigits()
        } else {
            throw JSONParseError(.unexpectedByte(first), offset: self.index)
        }
        if self.index < self.buffer.count && self.buffer[self.index] == UInt8(ascii: ".") {
            self.index += 1
            try self.requireDigits()
        }
        if self.index < self.buffer.count && (self.buffer[self.index] | 0x20) == UInt8(ascii: "e") {
            self.index += 1
            if self.index < self.buffer.count
                && (self.buffer[self.index] == UInt8(ascii: "+") || self.buffer[self.index] == UInt8(ascii: "-"))
            {
                self.index += 1
            }
            try self.requireDigits()
        }
        // Only ASCII was consumed, so this cannot fail.
        return String(decoding: UnsafeBufferPointer(rebasing: self.buffer[start..<self.index]), as: UTF8.self)
    }

    mutating func skipDigits() {
        while self.index < self.buffer.count,
            self.buffer[self.index] >= UInt8(ascii: "0") && self.buffer[self.index] <= UInt8(ascii: "9")
        {
            self.index += 1
        }
    }

    mutating func requireDigits() throws(JSONParseError) {
        let byte = try self.peek()
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else {
            throw JSONParseError(.unexpectedByte(byte), offset: self.index)
        }
        self.skipDigits()
    }

    mutating func parseString() throws(JSONParseError) -> String {
        self.index += 1  // opening quote
        let start = self.index
        // Fast path: no escapes, so the bytes are the string.
        while self.index < self.buffer.count {
            let byte = self.buffer[self.index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: self.buffer[start..<self.index])
                guard let string = String(validating: slice, as: UTF8.self) else {
                    throw JSONParseError(.invalidUnicode, offset: start)
                }
                self.index += 1
                return string
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw JSONParseError(.unexpectedByte(byte), offset: self.index) }
            self.index += 1
        }
        var bytes = Array(UnsafeBufferPointer(rebasing: self.buffer[start..<self.index]))
        while true {
            let byte = try self.peek()
            self.index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: bytes, as: UTF8.self) else {
                    throw JSONParseError(.invalidUnicode, offset: start)
                }
                return string
            case UInt8(ascii: "\\"):
                try self.parseEscape(into: &bytes)
            case 0..<0x20:
                throw JSONParseError(.unexpectedByte(byte), offset: self.index - 1)
            default:
                bytes.append(byte)
            }
        }
    }

    mutating func parseEscape(into bytes: inout [UInt8]) throws(JSONParseError) {
        let escape = try self.peek()
        self.index += 1
        switch escape {
        case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "/"): bytes.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
            let escapeOffset = self.index - 2
            var scalarValue = UInt32(try self.parseHex4())
            if (0xD800...0xDBFF).contains(scalarValue) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard self.index + 1 < self.buffer.count,
                    self.buffer[self.index] == UInt8(ascii: "\\"),
                    self.buffer[self.index + 1] == UInt8(ascii: "u")
                else { throw JSONParseError(.invalidUnicode, offset: escapeOffset) }
                self.index += 2
                let low = UInt32(try self.parseHex4())
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONParseError(.invalidUnicode, offset: escapeOffset)
                }
                scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(scalarValue) else {
                throw JSONParseError(.invalidUnicode, offset: escapeOffset)
            }
            bytes.append(contentsOf: UTF8.encode(scalar)!)
        default:
            throw JSONParseError(.unexpectedByte(escape), offset: self.index - 1)
        }
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = try self.peek()
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONParseError(.unexpectedByte(byte), offset: self.index)
            }
            value = value << 4 | UInt16(digit)
            self.index += 1
        }
        return value
    }
}

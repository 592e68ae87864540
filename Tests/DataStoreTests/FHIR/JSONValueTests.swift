import Foundation
import Testing

@testable import DataStore

@Suite("JSON parsing and serialization")
struct JSONValueTests {
    @Test("every Synthea line parses and serializes back to the same bytes")
    func syntheaRoundTripsByteForByte() throws {
        var count = 0
        for line in try Synthea.allLines() {
            let value = try JSONValue.parse(line)
            #expect(value.serialized() == line)
            count += 1
        }
        #expect(count == 7160)
    }

    @Test("number literals keep their precision")
    func numbersKeepLiteralText() throws {
        let text = #"{"a":1.50,"b":-0,"c":1e-7,"d":12345678901234567890123,"e":2.0E+10}"#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(String(decoding: value.serialized(), as: UTF8.self) == text)
    }

    @Test("escapes are resolved and written back minimally")
    func escapes() throws {
        let value = try JSONValue.parse(Array(#"["a\"b\\c\/d\n\u00e9\ud83d\ude00\u0001"]"#.utf8))
        #expect(value == .array([.string("a\"b\\c/d\né😀\u{1}")]))
        #expect(String(decoding: value.serialized(), as: UTF8.self) == #"["a\"b\\c/d\né😀\u0001"]"#)
    }

    @Test(
        "malformed documents are rejected",
        arguments: [
            "", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "1.", "-", "1e", "+1", "tru", "nul",
            "\"abc", "\"a\u{1}b\"", "[1] 2", "{\"a\":1}}", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"",
            "\"\\udc00\"", "\"\\ud800\\u0041\"", "{1:2}", "NaN", "[Infinity]", "\u{FEFF}{}",
        ]
    )
    func malformed(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test("invalid UTF-8 is rejected")
    func invalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22]] {
            #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes) }
        }
    }

    @Test("duplicate keys are rejected, at any depth")
    func duplicateKeys() {
        for text in [#"{"a":1,"a":2}"#, #"{"x":{"b":1,"c":2,"b":3}}"#, #"[{"k":1,"k":1}]"#] {
            #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(text.utf8)) }
        }
    }

    @Test("nesting beyond the limit is rejected without recursing further")
    func depthLimit() throws {
        let limits = JSONParsingLimits(maximumDepth: 8)
        let ok = String(repeating: "[", count: 8) + String(repeating: "]", count: 8)
        #expect(try JSONValue.parse(Array(ok.utf8), limits: limits) != .null)
        let deep = String(repeating: "[", count: 9) + String(repeating: "]", count: 9)
        #expect(throws: JSONParseError(.tooDeep(limit: 8), offset: 8)) { try JSONValue.parse(Array(deep.utf8), limits: limits) }
        // A million-level bomb fails fast at the default limit.
        let bomb = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(bomb) }
        let objectBomb = Array(String(repeating: #"{"a":"#, count: 100_000).utf8)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(objectBomb) }
    }

    @Test("documents over the size limit are rejected before parsing")
    func sizeLimit() {
        let limits = JSONParsingLimits(maximumBytes: 10)
        #expect(throws: JSONParseError(.tooLarge(limit: 10), offset: 10)) {
            try JSONValue.parse(Array(#"["12345678"]"#.utf8), limits: limits)
        }
    }

    @Test("object subscript replaces in place and removes")
    func objectEditing() {
        var object: JSONObject = ["a": .number("1"), "b": .null]
        object["a"] = .bool(true)
        object["c"] = .string("x")
        object["b"] = nil
        #expect(object.keys == ["a", "c"])
        #expect(String(decoding: object.serialized(), as: UTF8.self) == #"{"a":true,"c":"x"}"#)
    }
}

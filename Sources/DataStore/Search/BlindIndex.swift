import Crypto
import Foundation

/// Blind search tokens for a datastore: what to store for a resource, and what to look up for
/// a search, both under the datastore's ``BlindIndexKey``.
///
/// A token is the first 16 bytes of HMAC-SHA256(key, `Type.parameter` || 0x00 ||
/// normalized value). The normalized value starts with a kind tag, so different kinds of
/// value never collide:
///
/// | kind | normalized value | made from |
/// |---|---|---|
/// | string prefix | `p:` + prefix | every prefix (1…``BlindIndexLimits/maximumPrefixLength`` characters) of the folded value and of each of its words |
/// | string exact | `e:` + value as written | the whole value (for `:exact`) |
/// | token | `t:system|code`, `t:|code` when there is no system | Coding, Identifier, code |
/// | token code | `c:code` | any system (search `code`) |
/// | token system | `s:system|` | search `system|` |
/// | reference | `r:Type/id` | literal references, normalized |
/// | date | `y:YYYY`, `m:YYYY-MM`, `d:YYYY-MM-DD` | each at or above the value's precision |
///
/// Folding is Unicode case folding plus diacritic and width folding, then whitespace collapsed
/// (`Müller` → `muller`). Date ranges become the smallest set of year, month and day tokens
/// covering the range (see ``dateRangeTokens(_:from:through:)``). A resource value with less
/// than day precision (`1927-05`) matches equality at its own precision but only range searches
/// whose cover uses a token of that precision or coarser.
public struct BlindIndex: Sendable {
    /// The key tokens are made under.
    public let key: BlindIndexKey
    /// The parameters indexed.
    public let table: SearchParameterTable
    /// The limits.
    public let limits: BlindIndexLimits

    /// Creates an index view for one datastore's key.
    public init(key: BlindIndexKey, table: SearchParameterTable = .r4, limits: BlindIndexLimits = BlindIndexLimits()) {
        self.key = key
        self.table = table
        self.limits = limits
    }

    /// One token (exposed for known-answer tests).
    static func token(key: BlindIndexKey, qualifiedName: String, normalizedValue: String) -> IndexToken {
        var hmac = key.keyedMAC
        hmac.update(data: Array(qualifiedName.utf8))
        hmac.update(data: [0])
        hmac.update(data: Array(normalizedValue.utf8))
        let mac = hmac.finalize()
        let name = qualifiedName.split(separator: ".", maxSplits: 1).last.map(String.init) ?? qualifiedName
        return IndexToken(parameter: name, bytes: Array(mac.prefix(16)))
    }

    func token(_ parameter: SearchParameter, _ normalized: String) -> IndexToken {
        Self.token(key: self.key, qualifiedName: parameter.qualifiedName, normalizedValue: normalized)
    }

    /// Every token to store for `resource` (its current version), without duplicates.
    ///
    /// The resource has been validated, so elements have the types the table expects; an
    /// element that still does not is skipped rather than guessed at.
    public func extractTokens(from resource: FHIRResource) -> [IndexToken] {
        var tokens: [IndexToken] = []
        var seen: Set<IndexToken> = []
        for parameter in self.table.parameters(for: resource.resourceType) {
            guard let values = try? parameter.values(in: resource.json) else { continue }
            for value in values {
                for normalized in self.normalizedValues(for: value) {
                    let token = self.token(parameter, normalized)
                    if seen.insert(token).inserted { tokens.append(token) }
                }
            }
        }
        return tokens
    }

    /// The normalized values a resource value is indexed under.
    func normalizedValues(for value: IndexedValue) -> [String] {
        switch value {
        case .string(let text):
            var values: Set<String> = ["e:" + text]
            let folded = Self.fold(text)
            var fields = [folded]
            fields += folded.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
            for field in fields {
                var prefix = ""
                for character in field.prefix(self.limits.maximumPrefixLength) {
                    prefix.append(character)
                    values.insert("p:" + prefix)
                }
            }
            return values.sorted()
        case .token(let system, let code):
            if let system { return ["t:\(system)|\(code)", "c:\(code)", "s:\(system)|"] }
            return ["t:|\(code)", "c:\(code)"]
        case .date(let date):
            var values = ["y:\(FHIRDate.pad(date.year, 4))"]
            if let month = date.month { values.append("m:\(FHIRDate.pad(date.year, 4))-\(FHIRDate.pad(month, 2))") }
            if date.day != nil { values.append("d:\(date.description)") }
            return values
        case .reference(let literal):
            return ["r:" + literal]
        }
    }

    /// Case, diacritic and width folding, whitespace collapsed to single spaces.
    static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .split(whereSeparator: \.isWhitespace)
            .joined(separator: " ")
    }
}

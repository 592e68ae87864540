extension SearchResult {
    /// The FHIR `searchset` Bundle of this page.
    ///
    /// - `total` for `_summary=count` (then no entries) and `_total`;
    /// - `link`: `self` (this page's query, with its page token) and, unless this is the last
    ///   page, `next` (the same query with the next page's token), as relative URLs
    ///   `Type?name=value&…&_count=N&_page_token=T`;
    /// - `entry`: each match (`search.mode` `match`), then, when a lenient search ignored
    ///   parameters, one `OperationOutcome` naming them (`search.mode` `outcome`).
    public func bundle() -> [UInt8] {
        var bundle: JSONObject = ["resourceType": .string("Bundle"), "type": .string("searchset")]
        if let total = self.total { bundle["total"] = .number(String(total)) }
        var links: [JSONValue] = [.object(["relation": .string("self"), "url": .string(self.url(pageToken: self.pageToken))])]
        if let next = self.nextPageToken {
            links.append(.object(["relation": .string("next"), "url": .string(self.url(pageToken: next))]))
        }
        bundle["link"] = .array(links)
        var entries: [JSONValue] = self.matches.map { match in
            .object([
                "fullUrl": .string("\(match.resourceType.name)/\(match.id)"),
                "resource": (try? JSONValue.parse(match.json)) ?? .null,
                "search": .object(["mode": .string("match")]),
            ])
        }
        if !self.query.ignoredParameters.isEmpty {
            let outcome = OperationOutcome(
                issues: self.query.ignoredParameters.map { name in
                    OperationOutcome.Issue(
                        severity: .warning, code: .notSupported,
                        diagnostics: "unknown search parameter \"\(name)\" for \(self.query.resourceType.name) was ignored (lenient handling)")
                })
            entries.append(.object(["resource": .object(outcome.jsonObject), "search": .object(["mode": .string("outcome")])]))
        }
        if !entries.isEmpty { bundle["entry"] = .array(entries) }
        return bundle.serialized()
    }

    /// `Type?name=value&…&_count=N[&_page_token=T]`, percent-encoded.
    func url(pageToken: String?) -> String {
        var pairs = self.query.linkParameters.map { ($0.name, $0.value) }
        if !self.query.summaryCount { pairs.append(("_count", String(self.query.count))) }
        if let pageToken { pairs.append(("_page_token", pageToken)) }
        let query = pairs.map { Self.percentEncoded($0.0) + "=" + Self.percentEncoded($0.1) }.joined(separator: "&")
        return self.query.resourceType.name + (query.isEmpty ? "" : "?" + query)
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters and `:` (modifiers).
    static func percentEncoded(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                output += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return output
    }
}

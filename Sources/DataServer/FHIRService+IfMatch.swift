extension FHIRService {
    /// The version an If-Match names: `N`, `"N"` or `W/"N"` with N a positive integer (FHIR's
    /// weak ETag of a version).
    ///
    /// - Throws: ``HealthLakeError`` `ValidationException` for anything else.
    static func expectedVersion(ifMatch: String) throws -> Int {
        var text = Substring(ifMatch)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = text.dropFirst().dropLast() }
        guard text.utf8.count <= 18, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let version = Int(text), version >= 1
        else {
            throw HealthLakeError(code: .validation, message: "If-Match must be a version id: N or W/\"N\" with N a positive integer")
        }
        return version
    }
}

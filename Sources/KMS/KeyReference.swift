/// What a request's `KeyId` names: a key id, a key ARN, an alias name or an alias ARN.
enum KeyReference: Hashable, Sendable {
    case key(KeyID)
    case alias(String)

    /// Parses a caller's `KeyId`.
    ///
    /// - Throws: ``KMSError`` `ValidationException` when empty or longer than the limit;
    ///   `NotFoundException` for anything that is not a key id, alias or ARN of this service's
    ///   partition, region and account (AWS answers a malformed key id the same way).
    init(parsing string: String, identity: KeyServiceIdentity, limits: KeyServiceLimits) throws {
        guard !string.isEmpty else { throw KMSError.validation("KeyId must not be empty") }
        guard string.utf8.count <= limits.maximumKeyIDCharacters else {
            throw KMSError.validation("KeyId is longer than \(limits.maximumKeyIDCharacters) characters")
        }
        if string.hasPrefix("alias/") {
            self = .alias(string)
            return
        }
        if string.hasPrefix("arn:") {
            guard let arn = ParsedARN(string), arn.service == "kms" else {
                throw KMSError.notFound("Invalid arn \(Self.clipped(string))")
            }
            guard arn.partition == identity.partition, arn.region == identity.region, arn.account == identity.accountID
            else {
                throw KMSError.notFound("\(Self.clipped(string)) is not a key of this region and account")
            }
            if arn.resource.hasPrefix("key/"), let keyID = KeyID(String(arn.resource.dropFirst(4))) {
                self = .key(keyID)
            } else if arn.resource.hasPrefix("alias/") {
                self = .alias(arn.resource)
            } else {
                throw KMSError.notFound("Invalid arn \(Self.clipped(string))")
            }
            return
        }
        guard let keyID = KeyID(string) else {
            throw KMSError.notFound("Invalid keyId \(Self.clipped(string))")
        }
        self = .key(keyID)
    }

    /// A caller-controlled string, shortened for error messages.
    static func clipped(_ string: String, to length: Int = 128) -> String {
        string.count <= length ? string : String(string.prefix(length)) + "…"
    }
}

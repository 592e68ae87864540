import Crypto

/// HMAC-SHA256 under the root key's audit seal subkey, with the key schedule done once.
///
/// Every appended event is sealed; `HMAC(key:)` hashes the padded key twice each time. This
/// keeps an HMAC that has absorbed the key and copies it per message (its hash states are
/// copy-on-write values), which gives the same result as `HMAC.authenticationCode(for:using:)`.
///
/// `@unchecked Sendable`: the stored HMAC is never mutated after creation; each use mutates a
/// copy, and swift-crypto's digest states copy their storage before the first write to a shared
/// one. swift-crypto 3.12 does not declare `HMAC` `Sendable`.
struct AuditSealer: @unchecked Sendable {
    private let keyed: HMAC<SHA256>

    /// Creates a sealer for `key`.
    init(key: SymmetricKey) {
        self.keyed = HMAC<SHA256>(key: key)
    }

    /// The HMAC-SHA256 of `message`.
    func authenticationCode(for message: [UInt8]) -> [UInt8] {
        var hmac = self.keyed
        hmac.update(data: message)
        return Array(hmac.finalize())
    }
}

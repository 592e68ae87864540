import Foundation

/// What a ``CertificateAuthority`` should put into one leaf certificate.
///
/// The certificate's subject common name is ``name``; its identity for Keylake is ``principal``, written verbatim
/// as the first (and only) URI subject alternative name. DNS names and IP addresses are added as further SANs so
/// the same certificate can serve TLS.
public struct IdentitySpec: Sendable, Hashable {
    /// What the certificate may be used for in TLS.
    ///
    /// Maps onto the extended key usage extension: `clientAuth`, `serverAuth`, or both.
    public enum Usage: String, Sendable, Hashable, Codable, CaseIterable {
        /// A TLS client certificate (`clientAuth`).
        case client
        /// A TLS server certificate (`serverAuth`).
        case server
        /// Usable on both ends of a connection (`serverAuth` and `clientAuth`); used by the daemons.
        case clientAndServer
    }

    /// The identity's short name: the subject common name, and the file stem in a development home
    /// (for example `kmsd` or `admin`). Must not be empty or contain control characters.
    public var name: String

    /// The principal placed verbatim in the URI subject alternative name, such as
    /// `arn:aws:iam::111122223333:role/Admin` or `healthlake.amazonaws.com`.
    ///
    /// `nil` issues a certificate with no URI SAN at all, which a Keylake server must refuse; this exists for
    /// testing that refusal. A non-`nil` value must be non-empty printable ASCII without whitespace.
    public var principal: String?

    /// DNS names to add as subject alternative names, for example `["localhost"]`.
    public var dnsNames: [String]

    /// IP addresses in textual form (IPv4 dotted quad or IPv6), for example `["127.0.0.1", "::1"]`.
    ///
    /// They are encoded as raw 4- or 16-byte `iPAddress` SANs.
    public var ipAddresses: [String]

    /// The extended key usage of the certificate.
    public var usage: Usage

    /// The start of the validity period.
    public var notBefore: Date

    /// The end of the validity period; must be later than ``notBefore``, but may lie in the past to make an
    /// already expired certificate.
    public var notAfter: Date

    /// Creates a specification.
    ///
    /// - Parameters:
    ///   - name: The common name and file stem.
    ///   - principal: The URI SAN value, verbatim; `nil` for none.
    ///   - dnsNames: DNS SANs; none by default.
    ///   - ipAddresses: IP address SANs in textual form; none by default.
    ///   - usage: The extended key usage; `.client` by default.
    ///   - notBefore: Start of validity; five minutes before the call by default, to tolerate clock skew.
    ///   - notAfter: End of validity; thirty days after the call by default.
    public init(
        name: String,
        principal: String?,
        dnsNames: [String] = [],
        ipAddresses: [String] = [],
        usage: Usage = .client,
        notBefore: Date = Date().addingTimeInterval(-5 * 60),
        notAfter: Date = Date().addingTimeInterval(30 * 24 * 3600)
    ) {
        self.name = name
        self.principal = principal
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.usage = usage
        self.notBefore = notBefore
        self.notAfter = notAfter
    }
}

/// A freshly issued leaf certificate together with its private key, both PEM encoded.
///
/// Nothing is written to disk; ``DevPKI`` does that for the standard identities. The key is secret: write it with
/// owner-only permissions.
public struct IssuedIdentity: Sendable, Hashable {
    /// The name the certificate was issued for (its subject common name).
    public var name: String

    /// The principal in the certificate's URI SAN, or `nil` if it has none.
    public var principal: String?

    /// The leaf certificate as a PEM `CERTIFICATE` block.
    public var certificatePEM: String

    /// The leaf's P-256 private key as a PEM PKCS#8 `PRIVATE KEY` block.
    public var privateKeyPEM: String

    /// Creates an issued identity from its parts.
    ///
    /// - Parameters:
    ///   - name: The identity's name.
    ///   - principal: The URI SAN principal, if any.
    ///   - certificatePEM: The PEM certificate.
    ///   - privateKeyPEM: The PEM private key.
    public init(name: String, principal: String?, certificatePEM: String, privateKeyPEM: String) {
        self.name = name
        self.principal = principal
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// Internal constants of the development PKI.
enum DevPKIDefaults {
    /// How far `notBefore` is back-dated, in seconds.
    static let clockSkewAllowance: TimeInterval = 5 * 60
}

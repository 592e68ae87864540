import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority that can issue leaf certificates.
///
/// Keys are ECDSA P-256 and every certificate is signed with ECDSA-SHA256. The CA certificate is self-signed,
/// marked as a CA (critical basic constraints, path length 0) and may only sign certificates and CRLs. The value
/// holds the CA's private key: treat it, and ``privateKeyPEM``, as a secret.
public struct CertificateAuthority: Sendable {
    /// The parsed CA certificate.
    let certificate: Certificate

    /// The raw 32-byte P-256 scalar; kept as bytes because swift-crypto's key type is not `Sendable`.
    private let privateKeyBytes: Data

    /// The CA certificate as a PEM `CERTIFICATE` block; this is the trust bundle for clients and servers.
    public let certificatePEM: String

    /// The CA private key as a PEM PKCS#8 `PRIVATE KEY` block. Secret.
    public let privateKeyPEM: String

    /// The instant after which the CA certificate is no longer valid.
    public var notAfter: Date { self.certificate.notValidAfter }

    private init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) throws {
        self.certificate = certificate
        self.privateKeyBytes = privateKey.rawRepresentation
        self.certificatePEM = try Self.pem(of: certificate)
        self.privateKeyPEM = privateKey.pemRepresentation
    }

    /// Creates a new self-signed CA with a fresh P-256 key.
    ///
    /// - Parameters:
    ///   - commonName: The subject (and issuer) common name.
    ///   - notBefore: Start of the CA's validity.
    ///   - notAfter: End of the CA's validity; certificates it issues stop verifying after this instant.
    /// - Returns: The new authority.
    /// - Throws: ``DevPKIError`` with code ``DevPKIError/Code/invalidIdentitySpec`` if the common name is empty or
    ///   `notAfter` is not after `notBefore`, or ``DevPKIError/Code/issuanceFailed`` if signing fails.
    public static func generate(
        commonName: String = "Keylake Development CA",
        notBefore: Date,
        notAfter: Date
    ) throws -> CertificateAuthority {
        try Validation.checkName(commonName)
        guard notAfter > notBefore else {
            throw DevPKIError.invalidIdentitySpec("the CA's notAfter (\(notAfter)) must be after notBefore (\(notBefore))")
        }
        let key = P256.Signing.PrivateKey()
        let signingKey = Certificate.PrivateKey(key)
        do {
            let name = try DistinguishedName {
                CommonName(commonName)
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: signingKey.publicKey)
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Self.randomSerialNumber(),
                publicKey: signingKey.publicKey,
                notValidBefore: notBefore,
                notValidAfter: notAfter,
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: signingKey
            )
            return try CertificateAuthority(certificate: certificate, privateKey: key)
        } catch let error as DevPKIError {
            throw error
        } catch {
            throw DevPKIError.issuanceFailed("could not create the CA certificate: \(error)")
        }
    }

    /// Loads an existing CA, for example to issue more identities into an existing development home.
    ///
    /// - Parameters:
    ///   - certificatePEM: The CA certificate as PEM.
    ///   - privateKeyPEM: The CA's P-256 private key as PEM, PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    /// - Throws: ``DevPKIError`` with code ``DevPKIError/Code/invalidCertificateAuthority`` if either PEM cannot be
    ///   parsed, the key is not P-256, the key does not belong to the certificate, or the certificate is not a CA.
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw DevPKIError.invalidCertificateAuthority("the CA certificate PEM cannot be parsed: \(error)")
        }
        let key: P256.Signing.PrivateKey
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw DevPKIError.invalidCertificateAuthority("the CA private key PEM is not a P-256 private key: \(error)")
        }
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw DevPKIError.invalidCertificateAuthority("the CA private key does not belong to the CA certificate")
        }
        let basicConstraints: BasicConstraints?
        do {
            basicConstraints = try certificate.extensions.basicConstraints
        } catch {
            throw DevPKIError.invalidCertificateAuthority("the CA certificate's basic constraints are malformed: \(error)")
        }
        guard case .isCertificateAuthority = basicConstraints else {
            throw DevPKIError.invalidCertificateAuthority("the certificate is not marked as a certificate authority")
        }
        do {
            try self.init(certificate: certificate, privateKey: key)
        } catch {
            throw DevPKIError.invalidCertificateAuthority("the CA certificate cannot be re-encoded: \(error)")
        }
    }

    /// Issues a leaf certificate with a fresh P-256 key.
    ///
    /// The leaf has: subject CN = `spec.name`; critical basic constraints (not a CA); critical key usage
    /// `digitalSignature`; extended key usage per `spec.usage`; subject alternative names (URI = principal first,
    /// then DNS names, then IP addresses; omitted if all are empty); subject and authority key identifiers; and a
    /// random positive 20-byte serial number. Validity is taken from the spec as given, so expired or
    /// not-yet-valid certificates can be made deliberately.
    ///
    /// - Parameter spec: What to put into the certificate.
    /// - Returns: The certificate and its private key as PEM.
    /// - Throws: ``DevPKIError`` with code ``DevPKIError/Code/invalidPrincipal`` for a bad principal,
    ///   ``DevPKIError/Code/invalidIdentitySpec`` for a bad name, DNS name, IP address or validity period, or
    ///   ``DevPKIError/Code/issuanceFailed`` if signing fails.
    public func issue(_ spec: IdentitySpec) throws -> IssuedIdentity {
        try Validation.checkName(spec.name)
        if let principal = spec.principal {
            try Validation.checkPrincipal(principal)
        }
        for dnsName in spec.dnsNames {
            try Validation.checkDNSName(dnsName)
        }
        let ipAddresses = try spec.ipAddresses.map(Validation.ipAddressBytes)
        guard spec.notAfter > spec.notBefore else {
            throw DevPKIError.invalidIdentitySpec(
                "identity \(String(reflecting: spec.name)): notAfter (\(spec.notAfter)) must be after notBefore (\(spec.notBefore))"
            )
        }

        var alternativeNames: [GeneralName] = []
        if let principal = spec.principal {
            alternativeNames.append(.uniformResourceIdentifier(principal))
        }
        alternativeNames += spec.dnsNames.map { GeneralName.dnsName($0) }
        alternativeNames += ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0[...])) }

        let usages: [ExtendedKeyUsage.Usage] =
            switch spec.usage {
            case .client: [.clientAuth]
            case .server: [.serverAuth]
            case .clientAndServer: [.serverAuth, .clientAuth]
            }

        let leafKey = P256.Signing.PrivateKey()
        let leafPublicKey = Certificate.PublicKey(leafKey.publicKey)
        do {
            let issuerKey = Certificate.PrivateKey(try P256.Signing.PrivateKey(rawRepresentation: self.privateKeyBytes))
            let authorityKeyIdentifier =
                try self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier
                ?? SubjectKeyIdentifier(hash: self.certificate.publicKey).keyIdentifier
            let subject = try DistinguishedName {
                CommonName(spec.name)
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage(usages)
                if !alternativeNames.isEmpty {
                    SubjectAlternativeNames(alternativeNames)
                }
                SubjectKeyIdentifier(hash: leafPublicKey)
                AuthorityKeyIdentifier(keyIdentifier: authorityKeyIdentifier)
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Self.randomSerialNumber(),
                publicKey: leafPublicKey,
                notValidBefore: spec.notBefore,
                notValidAfter: spec.notAfter,
                issuer: self.certificate.subject,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: issuerKey
            )
            return IssuedIdentity(
                name: spec.name,
                principal: spec.principal,
                certificatePEM: try Self.pem(of: certificate),
                privateKeyPEM: leafKey.pemRepresentation
            )
        } catch {
            throw DevPKIError.issuanceFailed("could not issue a certificate for \(String(reflecting: spec.name)): \(error)")
        }
    }

    /// A positive serial number of exactly 20 bytes, at least 19 of them uniformly random.
    ///
    /// The first byte has its top bit cleared (positive) and the next bit set (no leading zero byte, so the DER
    /// encoding is always 20 bytes long).
    static func randomSerialNumber() -> Certificate.SerialNumber {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        bytes[0] = (bytes[0] & 0x3F) | 0x40
        return Certificate.SerialNumber(bytes: bytes)
    }

    /// The PEM encoding of a certificate.
    private static func pem(of certificate: Certificate) throws -> String {
        try certificate.serializeAsPEM().pemString
    }
}

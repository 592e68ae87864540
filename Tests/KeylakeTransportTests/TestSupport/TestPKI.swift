import Foundation
import KeylakeDevPKI
import KeylakeTransport

/// A throw-away development PKI made at run time (no private key is committed), plus the odd
/// certificates the security tests need: expired, from another CA, without a principal.
struct TestPKI {
    let pki: DevPKI
    let directory: String

    init() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("keylake-test-pki-\(UUID().uuidString)").path
        self.directory = directory
        self.pki = try DevPKI.create(in: directory)
    }

    /// TLS files for a standard identity ("kmsd", "fhird", "admin", "app").
    func files(_ name: String) throws -> TLSFiles {
        let identity = try self.pki.requireIdentity(named: name)
        return TLSFiles(certificateChain: identity.certificatePath, privateKey: identity.privateKeyPath, trustRoots: self.pki.caCertificatePath)
    }

    /// Issues an extra identity from this PKI's CA (or from `authority`) and writes it out.
    func issue(
        name: String, principal: String?, notBefore: Date = Date().addingTimeInterval(-300),
        notAfter: Date = Date().addingTimeInterval(3600), authority: CertificateAuthority? = nil
    ) throws -> TLSFiles {
        let ca = try authority ?? self.pki.certificateAuthority()
        let issued = try ca.issue(
            IdentitySpec(name: name, principal: principal, usage: .client, notBefore: notBefore, notAfter: notAfter))
        let cert = "\(self.directory)/\(name)-extra.pem"
        let key = "\(self.directory)/\(name)-extra-key.pem"
        try issued.certificatePEM.write(toFile: cert, atomically: true, encoding: .utf8)
        try issued.privateKeyPEM.write(toFile: key, atomically: true, encoding: .utf8)
        return TLSFiles(certificateChain: cert, privateKey: key, trustRoots: self.pki.caCertificatePath)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}

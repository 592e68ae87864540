import Foundation
import KeylakeDevPKI
import SwiftASN1
import Testing
import X509

/// A fresh, empty scratch directory that is removed by ``remove()``.
struct ScratchDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        self.path = base + "/keylake-devpki-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
    }

    /// A path inside the scratch directory that does not exist yet.
    func child(_ name: String) -> String {
        self.path + "/" + name
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}

/// Reads and parses a PEM certificate file.
func loadCertificate(_ path: String) throws -> Certificate {
    try Certificate(pemEncoded: String(contentsOfFile: path, encoding: .utf8))
}

/// The POSIX permission bits of a file.
func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    let value = try #require(attributes[.posixPermissions] as? NSNumber)
    return value.intValue & 0o777
}

/// Whether `leaf` chains to `root` under RFC 5280 at the current time.
func verifies(_ leaf: Certificate, against root: Certificate) async -> Bool {
    var verifier = Verifier(rootCertificates: CertificateStore([root])) {
        RFC5280Policy()
    }
    let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore())
    if case .validCertificate = result {
        return true
    }
    return false
}

/// The URI subject alternative names of a certificate, in order.
func uriNames(_ certificate: Certificate) throws -> [String] {
    try (certificate.extensions.subjectAlternativeNames ?? SubjectAlternativeNames()).compactMap { name in
        if case .uniformResourceIdentifier(let uri) = name { return uri }
        return nil
    }
}

/// The DNS subject alternative names of a certificate, in order.
func dnsNames(_ certificate: Certificate) throws -> [String] {
    try (certificate.extensions.subjectAlternativeNames ?? SubjectAlternativeNames()).compactMap { name in
        if case .dnsName(let dns) = name { return dns }
        return nil
    }
}

/// The raw bytes of the IP address subject alternative names of a certificate, in order.
func ipAddresses(_ certificate: Certificate) throws -> [[UInt8]] {
    try (certificate.extensions.subjectAlternativeNames ?? SubjectAlternativeNames()).compactMap { name in
        if case .ipAddress(let octets) = name { return Array(octets.bytes) }
        return nil
    }
}

/// The names of the regular files in a directory, sorted.
func listing(_ path: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
}

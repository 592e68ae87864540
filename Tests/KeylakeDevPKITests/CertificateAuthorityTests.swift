import Foundation
import KeylakeDevPKI
import SwiftASN1
import Testing
import X509

@Suite("CertificateAuthority")
struct CertificateAuthorityTests {
    static let now = Date()

    static func makeCA(commonName: String = "Keylake Development CA") throws -> CertificateAuthority {
        try CertificateAuthority.generate(
            commonName: commonName,
            notBefore: now.addingTimeInterval(-300),
            notAfter: now.addingTimeInterval(24 * 3600)
        )
    }

    static func spec(
        name: String = "client",
        principal: String? = "arn:aws:iam::111122223333:role/Admin",
        notBefore: Date = now.addingTimeInterval(-300),
        notAfter: Date = now.addingTimeInterval(3600)
    ) -> IdentitySpec {
        IdentitySpec(name: name, principal: principal, notBefore: notBefore, notAfter: notAfter)
    }

    @Test("an issued leaf verifies against its CA")
    func issuedLeafVerifies() async throws {
        let authority = try Self.makeCA()
        let issued = try authority.issue(Self.spec())
        #expect(issued.name == "client")
        #expect(issued.principal == "arn:aws:iam::111122223333:role/Admin")
        #expect(issued.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(issued.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(authority.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(authority.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))

        let ca = try Certificate(pemEncoded: authority.certificatePEM)
        let leaf = try Certificate(pemEncoded: issued.certificatePEM)
        #expect(try uriNames(leaf) == ["arn:aws:iam::111122223333:role/Admin"])
        #expect(Array(try #require(try leaf.extensions.extendedKeyUsage)) == [.clientAuth])
        #expect(await verifies(leaf, against: ca))
    }

    @Test("usage maps onto the extended key usage", arguments: IdentitySpec.Usage.allCases)
    func usageMapsToEKU(usage: IdentitySpec.Usage) throws {
        let authority = try Self.makeCA()
        var spec = Self.spec()
        spec.usage = usage
        let leaf = try Certificate(pemEncoded: authority.issue(spec).certificatePEM)
        let expected: [ExtendedKeyUsage.Usage] =
            switch usage {
            case .client: [.clientAuth]
            case .server: [.serverAuth]
            case .clientAndServer: [.serverAuth, .clientAuth]
            }
        #expect(Array(try #require(try leaf.extensions.extendedKeyUsage)) == expected)
    }

    @Test("an expired identity can be issued and fails verification now")
    func expiredIdentity() async throws {
        let authority = try Self.makeCA()
        let ca = try Certificate(pemEncoded: authority.certificatePEM)
        let expired = try authority.issue(
            Self.spec(
                name: "expired",
                notBefore: Self.now.addingTimeInterval(-2 * 24 * 3600),
                notAfter: Self.now.addingTimeInterval(-24 * 3600)
            )
        )
        let leaf = try Certificate(pemEncoded: expired.certificatePEM)
        #expect(leaf.notValidAfter < Date())
        #expect(await !verifies(leaf, against: ca))

        // The same CA still issues valid certificates, so the failure is the expiry alone.
        let fresh = try Certificate(pemEncoded: authority.issue(Self.spec(name: "fresh")).certificatePEM)
        #expect(await verifies(fresh, against: ca))
    }

    @Test("a certificate from an independent CA does not verify, even with the same CA name")
    func independentCAIsNotTrusted() async throws {
        let first = try Self.makeCA()
        let second = try Self.makeCA()
        let firstRoot = try Certificate(pemEncoded: first.certificatePEM)
        let secondRoot = try Certificate(pemEncoded: second.certificatePEM)
        #expect(firstRoot.subject == secondRoot.subject)

        let foreign = try Certificate(pemEncoded: second.issue(Self.spec()).certificatePEM)
        #expect(await verifies(foreign, against: secondRoot))
        #expect(await !verifies(foreign, against: firstRoot))
    }

    @Test("a CA loaded from its PEM files issues certificates that verify against the original")
    func loadedCAIssues() async throws {
        let original = try Self.makeCA()
        let loaded = try CertificateAuthority(
            certificatePEM: original.certificatePEM,
            privateKeyPEM: original.privateKeyPEM
        )
        #expect(loaded.certificatePEM == original.certificatePEM)
        #expect(loaded.privateKeyPEM == original.privateKeyPEM)
        let leaf = try Certificate(pemEncoded: loaded.issue(Self.spec()).certificatePEM)
        #expect(await verifies(leaf, against: try Certificate(pemEncoded: original.certificatePEM)))
    }

    @Test("a DevPKI home's CA can issue an expired certificate for other tests")
    func homeCAIssuesExpired() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let home = try DevPKI.create(in: scratch.child("home"))
        let authority = try home.certificateAuthority()
        let expired = try authority.issue(
            Self.spec(notBefore: Self.now.addingTimeInterval(-7200), notAfter: Self.now.addingTimeInterval(-3600))
        )
        let ca = try loadCertificate(home.caCertificatePath)
        #expect(await !verifies(try Certificate(pemEncoded: expired.certificatePEM), against: ca))
    }

    @Test("loading refuses a mismatched key, a leaf as CA, and garbage")
    func loadRefusesBadInput() throws {
        let first = try Self.makeCA()
        let second = try Self.makeCA()
        let leaf = try first.issue(Self.spec())
        let invalid = DevPKIError.invalidCertificateAuthority("")

        #expect(throws: invalid) {
            try CertificateAuthority(certificatePEM: first.certificatePEM, privateKeyPEM: second.privateKeyPEM)
        }
        #expect(throws: invalid) {
            try CertificateAuthority(certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
        }
        #expect(throws: invalid) {
            try CertificateAuthority(certificatePEM: "garbage", privateKeyPEM: first.privateKeyPEM)
        }
        #expect(throws: invalid) {
            try CertificateAuthority(certificatePEM: first.certificatePEM, privateKeyPEM: "garbage")
        }
    }

    @Test("a nil principal gives a certificate without a URI SAN")
    func nilPrincipal() throws {
        let authority = try Self.makeCA()
        let bare = try Certificate(pemEncoded: authority.issue(Self.spec(principal: nil)).certificatePEM)
        #expect(try bare.extensions.subjectAlternativeNames == nil)

        var spec = Self.spec(principal: nil)
        spec.dnsNames = ["localhost"]
        let dnsOnly = try Certificate(pemEncoded: authority.issue(spec).certificatePEM)
        #expect(try uriNames(dnsOnly).isEmpty)
        #expect(try dnsNames(dnsOnly) == ["localhost"])
    }

    @Test("IP address SANs are raw 4- and 16-byte values")
    func ipAddressEncoding() throws {
        let authority = try Self.makeCA()
        var spec = Self.spec()
        spec.ipAddresses = ["10.1.2.3", "::1", "fe80::a:b"]
        let leaf = try Certificate(pemEncoded: authority.issue(spec).certificatePEM)
        #expect(
            try ipAddresses(leaf) == [
                [10, 1, 2, 3],
                [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                [254, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 11],
            ]
        )
    }

    @Test("invalid specs are refused")
    func invalidSpecs() throws {
        let authority = try Self.makeCA()
        let invalidSpec = DevPKIError.invalidIdentitySpec("")

        var spec = Self.spec()
        spec.ipAddresses = ["localhost"]
        #expect(throws: invalidSpec) { try authority.issue(spec) }

        spec = Self.spec()
        spec.ipAddresses = ["256.0.0.1"]
        #expect(throws: invalidSpec) { try authority.issue(spec) }

        spec = Self.spec()
        spec.dnsNames = ["bad name"]
        #expect(throws: invalidSpec) { try authority.issue(spec) }

        #expect(throws: invalidSpec) { try authority.issue(Self.spec(name: "")) }
        #expect(throws: invalidSpec) {
            try authority.issue(Self.spec(notBefore: Self.now, notAfter: Self.now.addingTimeInterval(-1)))
        }
        #expect(throws: DevPKIError.invalidPrincipal("")) { try authority.issue(Self.spec(principal: "")) }
        #expect(throws: DevPKIError.invalidPrincipal("")) { try authority.issue(Self.spec(principal: "a b")) }
        #expect(throws: invalidSpec) {
            try CertificateAuthority.generate(notBefore: Self.now, notAfter: Self.now)
        }
    }

    @Test("serial numbers are random, positive and 20 bytes long")
    func serialNumbers() throws {
        let authority = try Self.makeCA()
        var serials: Set<Certificate.SerialNumber> = []
        for index in 0..<20 {
            let leaf = try Certificate(pemEncoded: authority.issue(Self.spec(name: "leaf\(index)")).certificatePEM)
            #expect(leaf.serialNumber.bytes.count == 20)
            #expect((leaf.serialNumber.bytes.first ?? 0) & 0x80 == 0)
            serials.insert(leaf.serialNumber)
        }
        #expect(serials.count == 20)
    }

    @Test("DevPKIError compares by code only")
    func errorEquality() {
        #expect(DevPKIError.unknownName("a") == DevPKIError.unknownName("b"))
        #expect(DevPKIError.unknownName("a") != DevPKIError.invalidPrincipal("a"))
        #expect(DevPKIError.Code.identitiesMalformed.description == "identitiesMalformed")
    }
}

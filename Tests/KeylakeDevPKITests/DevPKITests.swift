import Foundation
import KeylakeDevPKI
import SwiftASN1
import Testing
import X509

@Suite("DevPKI home")
struct DevPKITests {
    static let standardNames = ["kmsd", "fhird", "admin", "app"]

    @Test("create writes the CA, the standard identities and identities.json")
    func createWritesStandardHome() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let directory = scratch.child("home")

        let home = try DevPKI.create(in: directory)

        #expect(home.directory == directory)
        #expect(home.caCertificatePath == directory + "/ca.pem")
        #expect(home.identities.map(\.name) == Self.standardNames)
        #expect(
            try listing(directory) == [
                "admin-key.pem", "admin.pem", "app-key.pem", "app.pem", "ca-key.pem", "ca.pem",
                "fhird-key.pem", "fhird.pem", "identities.json", "kmsd-key.pem", "kmsd.pem",
            ]
        )
        let kmsd = try #require(home.identity(named: "kmsd"))
        #expect(kmsd.principal == "keylake:service:kmsd")
        #expect(kmsd.certificatePath == directory + "/kmsd.pem")
        #expect(kmsd.privateKeyPath == directory + "/kmsd-key.pem")
        #expect(home.identity(named: "fhird")?.principal == "healthlake.amazonaws.com")
        #expect(home.identity(named: "admin")?.principal == "arn:aws:iam::111122223333:root")
        #expect(home.identity(named: "app")?.principal == "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole")
        #expect(home.identity(named: "nobody") == nil)

        // identities.json: a JSON array with file names relative to the directory.
        let json = try Data(contentsOf: URL(fileURLWithPath: directory + "/identities.json"))
        let entries = try #require(try JSONSerialization.jsonObject(with: json) as? [[String: String]])
        #expect(entries.count == 4)
        #expect(
            entries.first == [
                "name": "kmsd", "principal": "keylake:service:kmsd", "certificate": "kmsd.pem",
                "privateKey": "kmsd-key.pem",
            ]
        )
    }

    @Test("every certificate carries its principal as the URI SAN, and the expected extensions")
    func certificateContents() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let home = try DevPKI.create(in: scratch.child("home"), account: "444455556666")

        let ca = try loadCertificate(home.caCertificatePath)
        #expect(String(describing: ca.subject) == "CN=Keylake Development CA")
        #expect(ca.issuer == ca.subject)
        #expect(ca.signatureAlgorithm == .ecdsaWithSHA256)
        #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(ca.extensions[oid: .X509ExtensionID.basicConstraints]?.critical == true)
        #expect(try ca.extensions.keyUsage == KeyUsage(keyCertSign: true, cRLSign: true))
        #expect(ca.extensions[oid: .X509ExtensionID.keyUsage]?.critical == true)
        let caKeyIdentifier = try #require(try ca.extensions.subjectKeyIdentifier?.keyIdentifier)

        for identity in home.identities {
            let leaf = try loadCertificate(identity.certificatePath)
            #expect(try uriNames(leaf) == [identity.principal], "identity \(identity.name)")
            #expect(String(describing: leaf.subject) == "CN=\(identity.name)")
            #expect(leaf.issuer == ca.subject)
            #expect(leaf.signatureAlgorithm == .ecdsaWithSHA256)
            #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
            #expect(leaf.extensions[oid: .X509ExtensionID.basicConstraints]?.critical == true)
            #expect(try leaf.extensions.keyUsage == KeyUsage(digitalSignature: true))
            #expect(leaf.extensions[oid: .X509ExtensionID.keyUsage]?.critical == true)
            #expect(try leaf.extensions.subjectKeyIdentifier != nil)
            #expect(try leaf.extensions.authorityKeyIdentifier?.keyIdentifier == caKeyIdentifier)
            // A positive serial of at least 16 bytes: DER integer bytes, no sign byte needed.
            #expect(leaf.serialNumber.bytes.count >= 16)
            #expect((leaf.serialNumber.bytes.first ?? 0) & 0x80 == 0)
            #expect(leaf.serialNumber != ca.serialNumber)

            let keyPEM = try String(contentsOfFile: identity.privateKeyPath, encoding: .utf8)
            let key = try Certificate.PrivateKey(pemEncoded: keyPEM)
            #expect(key.publicKey == leaf.publicKey, "key file of \(identity.name) matches its certificate")
        }

        for name in ["kmsd", "fhird"] {
            let leaf = try loadCertificate(try home.requireIdentity(named: name).certificatePath)
            #expect(try dnsNames(leaf) == ["localhost"])
            #expect(
                try ipAddresses(leaf) == [
                    [127, 0, 0, 1],
                    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                ]
            )
            let usage = try #require(try leaf.extensions.extendedKeyUsage)
            #expect(usage.contains(.serverAuth) && usage.contains(.clientAuth))
        }
        for name in ["admin", "app"] {
            let leaf = try loadCertificate(try home.requireIdentity(named: name).certificatePath)
            #expect(try dnsNames(leaf).isEmpty)
            #expect(try ipAddresses(leaf).isEmpty)
            #expect(Array(try #require(try leaf.extensions.extendedKeyUsage)) == [.clientAuth])
        }
        #expect(try uriNames(loadCertificate(home.requireIdentity(named: "admin").certificatePath)) == [
            "arn:aws:iam::444455556666:root"
        ])
    }

    @Test("every issued leaf verifies against the home's CA")
    func leavesVerifyAgainstCA() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let home = try DevPKI.create(in: scratch.child("home"), extraPrincipals: ["arn:aws:iam::1:role/Reader"])
        let ca = try loadCertificate(home.caCertificatePath)
        #expect(home.identities.count == 5)
        for identity in home.identities {
            let leaf = try loadCertificate(identity.certificatePath)
            #expect(await verifies(leaf, against: ca), "identity \(identity.name)")
        }
    }

    @Test("keys are 0600, certificates 0644, the directory 0700")
    func filePermissions() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let directory = scratch.child("nested/home")
        let home = try DevPKI.create(in: directory, extraPrincipals: ["arn:aws:iam::1:role/Reader"])

        #expect(try permissions(directory) == 0o700)
        let files = try listing(directory)
        #expect(files.filter { $0.hasSuffix("-key.pem") }.count == home.identities.count + 1)
        for file in files {
            let mode = try permissions(directory + "/" + file)
            if file.hasSuffix("-key.pem") {
                #expect(mode == 0o600, "\(file)")
            } else {
                #expect(mode == 0o644, "\(file)")
            }
        }
        #expect(!files.contains { $0.hasPrefix(".") }, "no temporary files are left behind")
    }

    @Test("extra principals are named after their last segment and de-duplicated")
    func extraPrincipalNaming() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let extras = [
            "arn:aws:iam::444455556666:role/Admin",  // collides with the standard admin
            "arn:aws:iam::111122223333:role/Data.Reader",
            "arn:aws:iam::444455556666:role/Data.Reader",  // same name, different account
            "arn:aws:iam::111122223333:root",  // the standard admin principal itself: skipped
            "arn:aws:sts::111122223333:assumed-role/Clinician/Session_1",
            "arn:aws:iam::111122223333:user/CA",  // would clash with ca.pem / ca-key.pem
            "arn:aws:iam::444455556666:root",  // no "/": the segment after the final ":"
            "keylake:service:Batch",
            "arn:aws:iam::111122223333:role/Data.Reader",  // repeated: skipped
        ]
        let home = try DevPKI.create(in: scratch.child("home"), extraPrincipals: extras)

        let expected: [(String, String)] = [
            ("admin-2", "arn:aws:iam::444455556666:role/Admin"),
            ("data-reader", "arn:aws:iam::111122223333:role/Data.Reader"),
            ("data-reader-2", "arn:aws:iam::444455556666:role/Data.Reader"),
            ("session-1", "arn:aws:sts::111122223333:assumed-role/Clinician/Session_1"),
            ("ca-2", "arn:aws:iam::111122223333:user/CA"),
            ("root", "arn:aws:iam::444455556666:root"),
            ("batch", "keylake:service:Batch"),
        ]
        #expect(home.identities.map(\.name) == Self.standardNames + expected.map(\.0))
        for (name, principal) in expected {
            let identity = try home.requireIdentity(named: name)
            #expect(identity.principal == principal)
            let leaf = try loadCertificate(identity.certificatePath)
            #expect(try uriNames(leaf) == [principal])
            #expect(Array(try #require(try leaf.extensions.extendedKeyUsage)) == [.clientAuth])
        }
        #expect(try loadCertificate(home.caCertificatePath).extensions.basicConstraints != .notCertificateAuthority)
    }

    @Test("load returns exactly what create wrote")
    func loadRoundTrip() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let directory = scratch.child("home")
        let created = try DevPKI.create(in: directory, extraPrincipals: ["arn:aws:iam::1:role/Reader"])
        let loaded = try DevPKI.load(from: directory)
        #expect(loaded == created)
        #expect(loaded.identity(named: "reader")?.principal == "arn:aws:iam::1:role/Reader")

    }

    @Test(
        "an invalid principal is rejected and nothing is written",
        arguments: ["", "arn:aws:iam::1:role/Has Space", "tab\there", "line\nbreak", "control\u{1}char", "arn:aws:iam::1:role/Été"]
    )
    func invalidPrincipalWritesNothing(principal: String) throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let directory = scratch.child("home")

        #expect(throws: DevPKIError.invalidPrincipal("")) {
            try DevPKI.create(in: directory, extraPrincipals: ["arn:aws:iam::1:role/Fine", principal])
        }
        #expect(!FileManager.default.fileExists(atPath: directory))

        // An invalid account turns the standard ARNs invalid too.
        #expect(throws: DevPKIError.invalidPrincipal("")) {
            try DevPKI.create(in: directory, account: "1111 2222")
        }
        #expect(!FileManager.default.fileExists(atPath: directory))

        // Adding to an existing home leaves it byte-for-byte unchanged.
        _ = try DevPKI.create(in: directory)
        let before = try snapshot(directory)
        #expect(throws: DevPKIError.invalidPrincipal("")) {
            try DevPKI.addPrincipals(["arn:aws:iam::1:role/Fine", principal], in: directory)
        }
        #expect(try snapshot(directory) == before)
    }

    @Test("the error for an invalid principal says what is wrong")
    func invalidPrincipalMessage() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        do {
            _ = try DevPKI.create(in: scratch.child("home"), extraPrincipals: ["arn:aws:iam::1:role/Has Space"])
            Issue.record("expected an error")
        } catch let error as DevPKIError {
            #expect(error.code == .invalidPrincipal)
            #expect(error.message.contains("Has Space"))
            #expect(error.message.contains("whitespace"))
            #expect(String(describing: error).hasPrefix("DevPKIError.invalidPrincipal: "))
            #expect(error.file.hasSuffix(".swift"))
        }
    }

    @Test("addPrincipals issues into an existing home with its CA, once per principal")
    func addPrincipalsToExistingHome() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let directory = scratch.child("home")
        let created = try DevPKI.create(in: directory)
        let before = try snapshot(directory)

        let grown = try DevPKI.addPrincipals(
            ["arn:aws:iam::111122223333:role/Reader", "arn:aws:iam::444455556666:role/Admin", DevPKI.kmsdPrincipal],
            in: directory
        )
        #expect(grown.identities.map(\.name) == Self.standardNames + ["reader", "admin-2"])
        #expect(grown.identities.prefix(4) == created.identities[...])
        #expect(try DevPKI.load(from: directory) == grown)

        // The CA and the existing identities are untouched.
        let after = try snapshot(directory)
        for (file, contents) in before where file != "identities.json" {
            #expect(after[file] == contents, "\(file)")
        }
        #expect(try permissions(directory + "/reader-key.pem") == 0o600)
        #expect(try permissions(directory + "/reader.pem") == 0o644)

        let ca = try loadCertificate(grown.caCertificatePath)
        for name in ["reader", "admin-2"] {
            let leaf = try loadCertificate(try grown.requireIdentity(named: name).certificatePath)
            #expect(await verifies(leaf, against: ca))
            #expect(leaf.notValidAfter <= ca.notValidAfter, "never outlives the CA")
        }

        // Repeating the call adds nothing.
        let again = try DevPKI.addPrincipals(["arn:aws:iam::111122223333:role/Reader"], in: directory)
        #expect(again == grown)
        #expect(try snapshot(directory) == after)
    }

    @Test("addPrincipals refuses a home whose CA has expired")
    func addPrincipalsWithExpiredCA() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let directory = scratch.child("home")
        let past = Date().addingTimeInterval(-10 * 24 * 3600)
        _ = try DevPKI.create(in: directory, validity: .seconds(24 * 3600), now: past)
        #expect(throws: DevPKIError.certificateAuthorityExpired("")) {
            try DevPKI.addPrincipals(["arn:aws:iam::1:role/Reader"], in: directory)
        }
    }

    @Test("load reports a missing or malformed identities.json")
    func loadErrors() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }

        #expect(throws: DevPKIError.identitiesMissing("")) {
            try DevPKI.load(from: scratch.child("absent"))
        }
        #expect(throws: DevPKIError.identitiesMissing("")) {
            try DevPKI.load(from: scratch.path)
        }
        #expect(throws: DevPKIError.identitiesMissing("")) {
            try DevPKI.addPrincipals(["arn:aws:iam::1:role/Reader"], in: scratch.path)
        }

        let file = scratch.child("identities.json")
        let malformed = [
            "not json",
            "{\"name\": \"kmsd\"}",
            "[{\"name\": \"kmsd\"}]",
            #"[{"name":"a","principal":"p","certificate":"a.pem","privateKey":"../a-key.pem"}]"#,
            #"[{"name":"a","principal":"has space","certificate":"a.pem","privateKey":"a-key.pem"}]"#,
            #"[{"name":"a","principal":"p","certificate":"a.pem","privateKey":"a-key.pem"},"#
                + #"{"name":"a","principal":"q","certificate":"b.pem","privateKey":"b-key.pem"}]"#,
        ]
        for contents in malformed {
            try contents.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(throws: DevPKIError.identitiesMalformed(""), "\(contents)") {
                try DevPKI.load(from: scratch.path)
            }
        }
        try "[]".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try DevPKI.load(from: scratch.path).identities.isEmpty)
    }

    @Test("requireIdentity names the unknown identity")
    func unknownName() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let home = try DevPKI.create(in: scratch.child("home"))
        #expect(throws: DevPKIError.unknownName("")) {
            try home.requireIdentity(named: "nobody")
        }
        do {
            _ = try home.requireIdentity(named: "nobody")
        } catch let error as DevPKIError {
            #expect(error.message.contains("nobody"))
            #expect(error.message.contains("kmsd"))
        }
    }

    @Test("a directory that cannot be created is reported as not writable")
    func directoryNotWritable() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = scratch.child("plain-file")
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: DevPKIError.directoryNotWritable("")) {
            try DevPKI.create(in: file)
        }
        #expect(throws: DevPKIError.directoryNotWritable("")) {
            try DevPKI.create(in: file + "/home")
        }
    }

    @Test("a non-positive validity is rejected")
    func nonPositiveValidity() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        #expect(throws: DevPKIError.invalidIdentitySpec("")) {
            try DevPKI.create(in: scratch.child("home"), validity: .zero)
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.child("home")))
    }

    @Test("validity runs from five minutes before now to now plus the validity")
    func validityPeriod() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let now = Date(timeIntervalSince1970: 1_900_000_000)
        let home = try DevPKI.create(in: scratch.child("home"), validity: .seconds(3600), now: now)
        for path in [home.caCertificatePath] + home.identities.map(\.certificatePath) {
            let certificate = try loadCertificate(path)
            #expect(certificate.notValidBefore == now.addingTimeInterval(-300))
            #expect(certificate.notValidAfter == now.addingTimeInterval(3600))
        }
    }

    /// The contents of every file in `directory`, by name.
    private func snapshot(_ directory: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for file in try listing(directory) {
            result[file] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
        }
        return result
    }
}

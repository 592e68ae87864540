import Foundation

/// One identity of a development home: its name, principal and where its PEM files are.
public struct DevIdentity: Sendable, Hashable {
    /// The identity's name, e.g. `kmsd` or `admin`; also the file stem.
    public var name: String

    /// The principal in the certificate's URI SAN, verbatim.
    public var principal: String

    /// Absolute path of the PEM certificate (`<name>.pem`).
    public var certificatePath: String

    /// Absolute path of the PEM private key (`<name>-key.pem`, mode 0600).
    public var privateKeyPath: String

    /// Creates an identity record.
    ///
    /// - Parameters:
    ///   - name: The identity's name.
    ///   - principal: The URI SAN principal.
    ///   - certificatePath: Absolute path of the certificate.
    ///   - privateKeyPath: Absolute path of the private key.
    public init(name: String, principal: String, certificatePath: String, privateKeyPath: String) {
        self.name = name
        self.principal = principal
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

/// The standard set of development identities and where they live on disk.
///
/// A development home is a directory (mode 0700) holding `ca.pem` and `ca-key.pem` for the development CA, a
/// `<name>.pem` certificate (mode 0644) and `<name>-key.pem` private key (mode 0600) per identity, and
/// `identities.json`, a JSON array of `{"name", "principal", "certificate", "privateKey"}` objects whose file names
/// are relative to the directory. Files are written to temporary names first and renamed into place, so a failed
/// call leaves no half-written file behind, and invalid input is rejected before anything is touched.
///
/// The standard identities are:
/// - `kmsd`: principal `keylake:service:kmsd`, client and server, SANs `localhost`, `127.0.0.1`, `::1`;
/// - `fhird`: principal `healthlake.amazonaws.com`, client and server, SANs `localhost`, `127.0.0.1`, `::1`;
/// - `admin`: principal `arn:aws:iam::<account>:root` (the account root), client;
/// - `app`: principal `arn:aws:iam::<account>:role/HealthLakeFullAccessRole`, client.
public struct DevPKI: Sendable, Hashable {
    /// The AWS account used in the standard identities' ARNs unless another is given.
    public static let defaultAccount = "111122223333"

    /// The principal of the key service daemon.
    public static let kmsdPrincipal = "keylake:service:kmsd"

    /// The principal of the FHIR data service daemon (HealthLake's service principal).
    public static let fhirdPrincipal = "healthlake.amazonaws.com"

    /// The default validity of the certificates in a new home: thirty days.
    public static let defaultValidity: Duration = .seconds(30 * 24 * 3600)

    /// The file name of the CA certificate inside a home.
    public static let caCertificateFileName = "ca.pem"

    /// The file name of the CA private key inside a home.
    public static let caPrivateKeyFileName = "ca-key.pem"

    /// The file name of the identity index inside a home.
    public static let identitiesFileName = "identities.json"

    /// The absolute path of the home directory.
    public var directory: String

    /// The identities of the home, standard ones first, in the order of `identities.json`.
    public var identities: [DevIdentity]

    /// The absolute path of the CA certificate (`ca.pem`): the trust bundle for both daemons and clients.
    public var caCertificatePath: String

    /// The absolute path of the CA private key (`ca-key.pem`, mode 0600).
    public var caPrivateKeyPath: String

    private init(directory: String, identities: [DevIdentity]) {
        self.directory = directory
        self.identities = identities
        self.caCertificatePath = directory + "/" + Self.caCertificateFileName
        self.caPrivateKeyPath = directory + "/" + Self.caPrivateKeyFileName
    }

    /// The ARN principal of the standard `admin` identity for `account`.
    ///
    /// - Parameter account: The AWS account number.
    /// - Returns: `arn:aws:iam::<account>:root`, the account root: the default key policy and kmsd's
    ///   account policy let it administer keys, as in AWS.
    public static func adminPrincipal(account: String = defaultAccount) -> String {
        "arn:aws:iam::\(account):root"
    }

    /// The ARN principal of the standard `app` identity for `account`.
    ///
    /// - Parameter account: The AWS account number.
    /// - Returns: `arn:aws:iam::<account>:role/HealthLakeFullAccessRole`.
    public static func appPrincipal(account: String = defaultAccount) -> String {
        "arn:aws:iam::\(account):role/HealthLakeFullAccessRole"
    }

    /// Writes a new CA and the standard identities into `directory`.
    ///
    /// The directory is created with mode 0700 if missing (its parents with default permissions). Existing files
    /// of the same names are replaced, so calling this on an existing home starts it over with a new CA; files of
    /// identities that are no longer listed are left alone. Each entry of `extraPrincipals` gets one more client
    /// identity named after the ARN's last segment (after the final `/`, or else the final `:`), lower-cased with
    /// every character outside `[a-z0-9-]` replaced by `-`; a name that collides gets a suffix `-2`, `-3`, ….
    /// A principal that is already in the home (standard or listed earlier) is skipped rather than issued twice.
    ///
    /// Every certificate, the CA's included, is valid from `now` minus five minutes until `now + validity`.
    ///
    /// - Parameters:
    ///   - directory: The home directory; relative paths are resolved against the current directory.
    ///   - account: The AWS account for the `admin` and `app` ARNs.
    ///   - extraPrincipals: Further principals to issue client identities for.
    ///   - validity: How long the certificates stay valid; must be positive.
    ///   - now: The reference time.
    /// - Returns: The home as written.
    /// - Throws: ``DevPKIError`` with code ``DevPKIError/Code/invalidPrincipal`` (nothing is written, not even the
    ///   directory), ``DevPKIError/Code/invalidIdentitySpec`` for a non-positive validity,
    ///   ``DevPKIError/Code/directoryNotWritable``, or ``DevPKIError/Code/issuanceFailed``.
    public static func create(
        in directory: String,
        account: String = defaultAccount,
        extraPrincipals: [String] = [],
        validity: Duration = defaultValidity,
        now: Date = Date()
    ) throws -> DevPKI {
        let directory = HomeDirectory.absolute(directory)
        let (notBefore, notAfter) = try Self.validityPeriod(validity, now: now)

        let daemonNames = ["localhost"]
        let daemonAddresses = ["127.0.0.1", "::1"]
        var specs: [IdentitySpec] = [
            IdentitySpec(
                name: "kmsd",
                principal: Self.kmsdPrincipal,
                dnsNames: daemonNames,
                ipAddresses: daemonAddresses,
                usage: .clientAndServer,
                notBefore: notBefore,
                notAfter: notAfter
            ),
            IdentitySpec(
                name: "fhird",
                principal: Self.fhirdPrincipal,
                dnsNames: daemonNames,
                ipAddresses: daemonAddresses,
                usage: .clientAndServer,
                notBefore: notBefore,
                notAfter: notAfter
            ),
            IdentitySpec(
                name: "admin",
                principal: Self.adminPrincipal(account: account),
                usage: .client,
                notBefore: notBefore,
                notAfter: notAfter
            ),
            IdentitySpec(
                name: "app",
                principal: Self.appPrincipal(account: account),
                usage: .client,
                notBefore: notBefore,
                notAfter: notAfter
            ),
        ]
        for spec in specs {
            try Validation.checkPrincipal(spec.principal ?? "")
        }
        var allocator = NameAllocator(existing: specs.map(\.name))
        specs += try Self.extraSpecs(
            for: extraPrincipals,
            excluding: Set(specs.compactMap(\.principal)),
            allocator: &allocator,
            notBefore: notBefore,
            notAfter: notAfter
        )

        let authority = try CertificateAuthority.generate(notBefore: notBefore, notAfter: notAfter)
        let issued = try specs.map { try authority.issue($0) }

        try HomeDirectory.prepare(directory)
        var writer = StagedWriter(directory: directory)
        do {
            try writer.stage(authority.certificatePEM, as: Self.caCertificateFileName, mode: 0o644)
            try writer.stage(authority.privateKeyPEM, as: Self.caPrivateKeyFileName, mode: 0o600)
            let records = try Self.stage(issued, with: &writer)
            try writer.stage(try Self.encode(records), as: Self.identitiesFileName, mode: 0o644)
            try writer.commit()
            return DevPKI(directory: directory, identities: records.map { $0.identity(in: directory) })
        } catch {
            writer.discard()
            throw error
        }
    }

    /// Loads the `identities.json` of an existing home.
    ///
    /// The certificate files themselves are not read; use ``certificateAuthority()`` to load the CA.
    ///
    /// - Parameter directory: The home directory; relative paths are resolved against the current directory.
    /// - Returns: The home.
    /// - Throws: ``DevPKIError`` with code ``DevPKIError/Code/identitiesMissing`` if there is no `identities.json`,
    ///   or ``DevPKIError/Code/identitiesMalformed`` if it is not a JSON array of identity objects with distinct
    ///   names, non-empty valid principals and plain file names.
    public static func load(from directory: String) throws -> DevPKI {
        let directory = HomeDirectory.absolute(directory)
        let path = directory + "/" + Self.identitiesFileName
        guard FileManager.default.fileExists(atPath: path) else {
            throw DevPKIError.identitiesMissing("\(path) does not exist; create the development home first")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DevPKIError.identitiesMalformed("cannot read \(path): \(error)")
        }
        let records: [IdentityRecord]
        do {
            records = try JSONDecoder().decode([IdentityRecord].self, from: data)
        } catch {
            throw DevPKIError.identitiesMalformed("\(path) is not a JSON array of identities: \(error)")
        }
        var names: Set<String> = []
        for record in records {
            guard !record.name.isEmpty, names.insert(record.name).inserted else {
                throw DevPKIError.identitiesMalformed("\(path) has an empty or duplicate name \(String(reflecting: record.name))")
            }
            do {
                try Validation.checkPrincipal(record.principal)
            } catch let error as DevPKIError {
                throw DevPKIError.identitiesMalformed("\(path), identity \(String(reflecting: record.name)): \(error.message)")
            }
            for file in [record.certificate, record.privateKey] where file.isEmpty || file.contains("/") {
                throw DevPKIError.identitiesMalformed(
                    "\(path), identity \(String(reflecting: record.name)): \(String(reflecting: file)) is not a plain file name"
                )
            }
        }
        return DevPKI(directory: directory, identities: records.map { $0.identity(in: directory) })
    }

    /// Adds identities for more principals to an existing home, issued by its CA; used when a home is reused.
    ///
    /// Names are derived and de-duplicated exactly as in ``create(in:account:extraPrincipals:validity:now:)``,
    /// taking the identities already present into account. Principals already in the home are skipped, so calling
    /// this repeatedly with the same list is harmless. The new certificates are valid from `now` minus five minutes
    /// until `now + validity`, but never beyond the CA's own expiry. Existing identities are left untouched;
    /// `identities.json` is rewritten atomically.
    ///
    /// - Parameters:
    ///   - principals: The principals to add client identities for.
    ///   - directory: The existing home directory.
    ///   - validity: How long the new certificates stay valid; must be positive.
    ///   - now: The reference time.
    /// - Returns: The home including the new identities.
    /// - Throws: ``DevPKIError`` with code ``DevPKIError/Code/invalidPrincipal`` (nothing is written),
    ///   ``DevPKIError/Code/identitiesMissing`` / ``DevPKIError/Code/identitiesMalformed`` as for ``load(from:)``,
    ///   ``DevPKIError/Code/invalidCertificateAuthority`` if the CA files are missing or unusable,
    ///   ``DevPKIError/Code/certificateAuthorityExpired`` if the CA has expired at `now`,
    ///   ``DevPKIError/Code/directoryNotWritable``, or ``DevPKIError/Code/issuanceFailed``.
    public static func addPrincipals(
        _ principals: [String],
        in directory: String,
        validity: Duration = defaultValidity,
        now: Date = Date()
    ) throws -> DevPKI {
        var home = try Self.load(from: directory)
        for principal in principals {
            try Validation.checkPrincipal(principal)
        }
        let (notBefore, requestedNotAfter) = try Self.validityPeriod(validity, now: now)
        let authority = try home.certificateAuthority()
        guard authority.notAfter > now else {
            throw DevPKIError.certificateAuthorityExpired(
                "the CA in \(home.directory) expired at \(authority.notAfter); create a new development home"
            )
        }
        let notAfter = min(requestedNotAfter, authority.notAfter)

        var allocator = NameAllocator(existing: home.identities.map(\.name))
        let specs = try Self.extraSpecs(
            for: principals,
            excluding: Set(home.identities.map(\.principal)),
            allocator: &allocator,
            notBefore: notBefore,
            notAfter: notAfter
        )
        if specs.isEmpty {
            return home
        }
        let issued = try specs.map { try authority.issue($0) }

        var writer = StagedWriter(directory: home.directory)
        do {
            var records = home.identities.map(IdentityRecord.init(relativeTo:))
            records += try Self.stage(issued, with: &writer)
            try writer.stage(try Self.encode(records), as: Self.identitiesFileName, mode: 0o644)
            try writer.commit()
            home.identities = records.map { $0.identity(in: home.directory) }
            return home
        } catch {
            writer.discard()
            throw error
        }
    }

    /// The identity called `name`, or `nil` if there is none.
    ///
    /// - Parameter name: The identity's name, e.g. `admin`.
    /// - Returns: The identity, if present.
    public func identity(named name: String) -> DevIdentity? {
        self.identities.first { $0.name == name }
    }

    /// The identity called `name`, throwing if there is none.
    ///
    /// - Parameter name: The identity's name, e.g. `admin`.
    /// - Returns: The identity.
    /// - Throws: ``DevPKIError`` with code ``DevPKIError/Code/unknownName`` listing the names that do exist.
    public func requireIdentity(named name: String) throws -> DevIdentity {
        guard let identity = self.identity(named: name) else {
            let known = self.identities.map(\.name).joined(separator: ", ")
            throw DevPKIError.unknownName(
                "no identity named \(String(reflecting: name)) in \(self.directory); known identities: \(known)"
            )
        }
        return identity
    }

    /// Loads the home's CA from `ca.pem` and `ca-key.pem`, for issuing further (for example expired) certificates.
    ///
    /// - Returns: The CA.
    /// - Throws: ``DevPKIError`` with code ``DevPKIError/Code/invalidCertificateAuthority`` if the files are missing
    ///   or unusable.
    public func certificateAuthority() throws -> CertificateAuthority {
        let certificatePEM: String
        let privateKeyPEM: String
        do {
            certificatePEM = try String(contentsOfFile: self.caCertificatePath, encoding: .utf8)
            privateKeyPEM = try String(contentsOfFile: self.caPrivateKeyPath, encoding: .utf8)
        } catch {
            throw DevPKIError.invalidCertificateAuthority("cannot read the CA files in \(self.directory): \(error)")
        }
        return try CertificateAuthority(certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM)
    }

    // MARK: - File names

    /// The certificate file name of the identity `name`.
    static func certificateFileName(for name: String) -> String {
        name + ".pem"
    }

    /// The private key file name of the identity `name`.
    static func privateKeyFileName(for name: String) -> String {
        name + "-key.pem"
    }

    // MARK: - Helpers

    /// `now - 5 minutes` and `now + validity`, after checking that `validity` is positive.
    private static func validityPeriod(_ validity: Duration, now: Date) throws -> (Date, Date) {
        let (seconds, attoseconds) = validity.components
        let interval = TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
        guard interval > 0 else {
            throw DevPKIError.invalidIdentitySpec("the validity must be positive, not \(validity)")
        }
        return (now.addingTimeInterval(-DevPKIDefaults.clockSkewAllowance), now.addingTimeInterval(interval))
    }

    /// Client identity specs for `principals`, skipping those in `excluding` and duplicates within the list.
    private static func extraSpecs(
        for principals: [String],
        excluding existing: Set<String>,
        allocator: inout NameAllocator,
        notBefore: Date,
        notAfter: Date
    ) throws -> [IdentitySpec] {
        for principal in principals {
            try Validation.checkPrincipal(principal)
        }
        var seen = existing
        var specs: [IdentitySpec] = []
        for principal in principals where seen.insert(principal).inserted {
            let name = allocator.allocate(Validation.baseName(forPrincipal: principal))
            specs.append(
                IdentitySpec(name: name, principal: principal, usage: .client, notBefore: notBefore, notAfter: notAfter)
            )
        }
        return specs
    }

    /// Stages the certificate (0644) and key (0600) of each identity and returns their index records.
    private static func stage(_ issued: [IssuedIdentity], with writer: inout StagedWriter) throws -> [IdentityRecord] {
        var records: [IdentityRecord] = []
        for identity in issued {
            let record = IdentityRecord(
                name: identity.name,
                principal: identity.principal ?? "",
                certificate: Self.certificateFileName(for: identity.name),
                privateKey: Self.privateKeyFileName(for: identity.name)
            )
            try writer.stage(identity.certificatePEM, as: record.certificate, mode: 0o644)
            try writer.stage(identity.privateKeyPEM, as: record.privateKey, mode: 0o600)
            records.append(record)
        }
        return records
    }

    /// The pretty-printed JSON of `records`, with a trailing newline.
    private static func encode(_ records: [IdentityRecord]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(records)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// One entry of `identities.json`; file names are relative to the home directory.
struct IdentityRecord: Codable, Hashable {
    var name: String
    var principal: String
    var certificate: String
    var privateKey: String

    init(name: String, principal: String, certificate: String, privateKey: String) {
        self.name = name
        self.principal = principal
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// The record of an identity whose files live directly in its home directory.
    init(relativeTo identity: DevIdentity) {
        self.init(
            name: identity.name,
            principal: identity.principal,
            certificate: (identity.certificatePath as NSString).lastPathComponent,
            privateKey: (identity.privateKeyPath as NSString).lastPathComponent
        )
    }

    func identity(in directory: String) -> DevIdentity {
        DevIdentity(
            name: self.name,
            principal: self.principal,
            certificatePath: directory + "/" + self.certificate,
            privateKeyPath: directory + "/" + self.privateKey
        )
    }
}

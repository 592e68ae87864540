public import KeylakeRPC

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `fhir` section of fhird's configuration file.
///
/// ```json
/// "fhir": { "region": "us-east-1", "accountId": "111122223333",
///           "servicePrincipal": "healthlake.amazonaws.com",
///           "kmsd": { "host": "127.0.0.1", "port": 7301 },
///           "client": { "certificate": "pki/fhird.pem", "privateKey": "pki/fhird-key.pem", "trustRoots": "pki/ca.pem" },
///           "accessPolicyFile": "fhird-access-policy.json",
///           "kmsCallTimeoutMilliseconds": 10000 }
/// ```
/// `client` defaults to the daemon's own `tls` files; relative paths are resolved against the
/// file's directory. See ``AccessPolicy`` for the policy file.
public struct FHIRServerConfiguration: Codable, Sendable, Hashable {
    /// Where kmsd listens.
    public struct KeyServiceAddress: Codable, Sendable, Hashable {
        /// Host.
        public var host: String
        /// Port.
        public var port: Int
        /// The DNS name kmsd's certificate must carry. Default `localhost`.
        public var serverHostname: String?

        /// Creates an address.
        public init(host: String, port: Int, serverHostname: String? = nil) {
            self.host = host
            self.port = port
            self.serverHostname = serverHostname
        }
    }

    /// The client identity fhird presents to kmsd: the same shape as a daemon's own `tls` section.
    public typealias ClientIdentity = DaemonConfiguration.TLS

    /// Region in datastore ARNs. Default `us-east-1`.
    public var region: String?
    /// Account in datastore ARNs. Default `111122223333`.
    public var accountId: String?
    /// fhird's own principal, grantee of customer-managed key grants. Default `healthlake.amazonaws.com`.
    public var servicePrincipal: String?
    /// Where kmsd listens.
    public var kmsd: KeyServiceAddress
    /// fhird's client identity towards kmsd; default: the daemon's `tls` files.
    public var client: ClientIdentity?
    /// The access policy file (see ``AccessPolicy``).
    public var accessPolicyFile: String
    /// Deadline of each kmsd call. Default 10,000 ms.
    public var kmsCallTimeoutMilliseconds: Int?
    /// Largest search page. Default 100.
    public var maximumPageSize: Int?

    /// Creates a section.
    public init(
        region: String? = nil, accountId: String? = nil, servicePrincipal: String? = nil, kmsd: KeyServiceAddress, client: ClientIdentity? = nil,
        accessPolicyFile: String, kmsCallTimeoutMilliseconds: Int? = nil, maximumPageSize: Int? = nil
    ) {
        self.region = region
        self.accountId = accountId
        self.servicePrincipal = servicePrincipal
        self.kmsd = kmsd
        self.client = client
        self.accessPolicyFile = accessPolicyFile
        self.kmsCallTimeoutMilliseconds = kmsCallTimeoutMilliseconds
        self.maximumPageSize = maximumPageSize
    }

    /// The default kmsd call deadline.
    public static let defaultKMSCallTimeoutMilliseconds = 10_000

    /// The service settings this section describes.
    public var settings: FHIRServiceSettings {
        var settings = FHIRServiceSettings()
        if let region { settings.region = region }
        if let accountId { settings.accountID = accountId }
        if let servicePrincipal { settings.servicePrincipal = servicePrincipal }
        if let maximumPageSize {
            settings.maximumPageSize = maximumPageSize
            settings.defaultPageSize = min(settings.defaultPageSize, maximumPageSize)
        }
        return settings
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `kms` section of kmsd's configuration file.
///
/// ```json
/// "kms": { "region": "us-east-1", "accountId": "111122223333",
///          "rootKeyFile": "kmsd-root.key",
///          "servicePrincipals": ["healthlake.amazonaws.com"],
///          "maintenanceIntervalSeconds": 60 }
/// ```
public struct KMSServerConfiguration: Codable, Sendable, Hashable {
    /// Region in key ARNs.
    public var region: String
    /// The account that owns the keys (12 digits).
    public var accountId: String
    /// File with the 32-byte root key that wraps all key material; must be mode 0600.
    public var rootKeyFile: String
    /// Principals trusted to call on behalf of others (`kms:ViaService`) and to own service keys.
    public var servicePrincipals: [String]
    /// Seconds between runs of scheduled rotation and the deletion sweep.
    public var maintenanceIntervalSeconds: Int?

    public init(
        region: String = "us-east-1", accountId: String, rootKeyFile: String, servicePrincipals: [String],
        maintenanceIntervalSeconds: Int? = nil
    ) {
        self.region = region
        self.accountId = accountId
        self.rootKeyFile = rootKeyFile
        self.servicePrincipals = servicePrincipals
        self.maintenanceIntervalSeconds = maintenanceIntervalSeconds
    }

    /// Default interval of the maintenance loop.
    public static let defaultMaintenanceInterval = 60
}

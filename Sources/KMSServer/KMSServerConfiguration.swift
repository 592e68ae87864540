#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

import KMS

/// The `kms` section of kmsd's configuration file.
///
/// ```json
/// "kms": { "region": "us-east-1", "accountId": "111122223333",
///          "rootKeyFile": "kmsd-root.key",
///          "servicePrincipals": ["healthlake.amazonaws.com"],
///          "onBehalfOfOperations": {"healthlake.amazonaws.com": ["DescribeKey", "Decrypt"]},
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
    /// Per service principal, the operation names (`Decrypt`, `CreateGrant`, …) it may perform on
    /// behalf of another principal. Optional; a service not listed gets the data service's set
    /// (`KeyServiceConfiguration.dataServiceOnBehalfOfOperations`).
    public var onBehalfOfOperations: [String: [String]]?
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

    /// ``onBehalfOfOperations`` as operations.
    ///
    /// - Throws: a description naming the unknown operation or the service that is not in
    ///   ``servicePrincipals``.
    public func onBehalfOfOperationsByService() throws -> [String: Set<KMSOperation>] {
        var result: [String: Set<KMSOperation>] = [:]
        for (service, names) in self.onBehalfOfOperations ?? [:] {
            guard self.servicePrincipals.contains(service) else {
                throw ConfigurationError("kms.onBehalfOfOperations names \(service), which is not in kms.servicePrincipals")
            }
            result[service] = Set(try names.map { name in
                guard let operation = KMSOperation(rawValue: name) else {
                    throw ConfigurationError("kms.onBehalfOfOperations.\(service): unknown operation \"\(name)\"")
                }
                return operation
            })
        }
        return result
    }

    /// A setting that is not valid, with a sentence naming it.
    public struct ConfigurationError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Default interval of the maintenance loop.
    public static let defaultMaintenanceInterval = 60
}

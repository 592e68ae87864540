public import DataStore

/// Settings of the FHIR data service; every value has a documented default.
public struct FHIRServiceSettings: Sendable {
    /// Region in datastore ARNs. Default `us-east-1`.
    public var region: String
    /// The account in datastore ARNs. Default `111122223333`.
    public var accountID: String
    /// The data service's own principal (its certificate's URI SAN): grantee and retiring
    /// principal of customer-managed key grants. Default `healthlake.amazonaws.com`.
    public var servicePrincipal: String
    /// Search page size when the caller gives none. Default 100.
    public var defaultPageSize: Int
    /// The largest search or history page (`_count`). Default 100, as in HealthLake.
    public var maximumPageSize: Int
    /// The largest `ListFHIRDatastores` page. Default 500.
    public var maximumListResults: Int
    /// Resource size and nesting limits.
    public var validationLimits: FHIRValidationLimits
    /// Waiting period when a deleted datastore's service-owned key is scheduled for deletion.
    /// Default 7 days (kmsd's minimum).
    public var serviceKeyDeletionWindowDays: Int32
    /// Limits on one search (parameters, alternatives, value length, tokens, page token
    /// length, resources decrypted to check long starts-with values); see ``SearchLimits``.
    public var searchLimits: SearchLimits = SearchLimits()
    /// Limits on batch and transaction Bundles and their responses: by default at most 500
    /// entries and 4 MiB less 4 KiB each way (one transport frame).
    public var bundleLimits: FHIRBundleLimits = FHIRBundleLimits()
    /// How many entries of a Bundle are prepared at once: data keys requested from kmsd (and
    /// resources sealed) for a transaction, entries processed for a batch. Default 8.
    public var bundleConcurrency: Int = 8
    /// The most tags a datastore may have (HealthLake's limit). Default 50.
    public var maximumTagsPerDatastore: Int = 50
    /// The resource store's settings, such as the group-commit size (default 64 writes per
    /// transaction).
    public var storeSettings: ResourceStoreSettings = ResourceStoreSettings()
    /// Whether concurrent requests to one datastore share an unwrap of its blind-index key
    /// (one kmsd `Decrypt` per key layer). A request only ever uses an unwrap that started after
    /// it arrived, so revocation stays immediate; the key is never kept after it is handed to
    /// the requests of its unwrap (see `IndexKeyUnwrapCoalescer`). `false`: every request
    /// unwraps the key on its own. Default `true`.
    public var shareIndexKeyUnwraps: Bool = true

    /// Creates settings; every argument has the documented default.
    public init(
        region: String = "us-east-1", accountID: String = "111122223333", servicePrincipal: String = "healthlake.amazonaws.com",
        defaultPageSize: Int = 100, maximumPageSize: Int = 100, maximumListResults: Int = 500,
        validationLimits: FHIRValidationLimits = FHIRValidationLimits(), serviceKeyDeletionWindowDays: Int32 = 7
    ) {
        self.region = region
        self.accountID = accountID
        self.servicePrincipal = servicePrincipal
        self.defaultPageSize = defaultPageSize
        self.maximumPageSize = maximumPageSize
        self.maximumListResults = maximumListResults
        self.validationLimits = validationLimits
        self.serviceKeyDeletionWindowDays = serviceKeyDeletionWindowDays
    }

    /// `arn:aws:healthlake:REGION:ACCOUNT:datastore/fhir/ID`.
    public func datastoreARN(_ id: String) -> String {
        "arn:aws:healthlake:\(self.region):\(self.accountID):datastore/fhir/\(id)"
    }

    /// Where a datastore's FHIR calls go.
    public func datastoreEndpoint(_ id: String) -> String {
        "keylake://fhird/datastore/\(id)/r4/"
    }
}

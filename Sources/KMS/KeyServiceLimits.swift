/// The limits and defaults ``KeyService`` enforces; each one names the AWS KMS value it follows.
public struct KeyServiceLimits: Hashable, Sendable {
    /// Shortest deletion window. Default 7 days.
    public var minimumPendingWindowInDays: Int
    /// Longest deletion window. Default 30 days.
    public var maximumPendingWindowInDays: Int
    /// Deletion window when `ScheduleKeyDeletion` names none. Default 30 days.
    public var defaultPendingWindowInDays: Int
    /// Shortest automatic rotation period. Default 90 days.
    public var minimumRotationPeriodInDays: Int
    /// Longest automatic rotation period. Default 2,560 days.
    public var maximumRotationPeriodInDays: Int
    /// Rotation period when `EnableKeyRotation` names none. Default 365 days.
    public var defaultRotationPeriodInDays: Int
    /// On-demand rotations allowed per key over its life. Default 10.
    public var maximumOnDemandRotations: Int
    /// Largest `NumberOfBytes` for `GenerateDataKey` and `GenerateRandom`. Default 1,024.
    public var maximumDataKeyBytes: Int
    /// Grants per key. Default 50,000.
    public var maximumGrantsPerKey: Int
    /// Longest grant name. Default 256 characters.
    public var maximumGrantNameCharacters: Int
    /// Operations a `CreateGrant` may request at once is bounded by the operation list; this
    /// bounds grant tokens accepted per request. Default 10.
    public var maximumGrantTokens: Int
    /// Longest grant token accepted. Default 8,192 characters.
    public var maximumGrantTokenCharacters: Int
    /// Tags per key. Default 50.
    public var maximumTagsPerKey: Int
    /// Longest tag key. Default 128 characters.
    public var maximumTagKeyCharacters: Int
    /// Longest tag value. Default 256 characters.
    public var maximumTagValueCharacters: Int
    /// Longest `KeyId` (key id, key ARN, alias name or alias ARN). Default 2,048 characters.
    public var maximumKeyIDCharacters: Int
    /// Longest principal accepted in a request (grantee, retiring principal, on-behalf-of).
    /// Default 256 characters.
    public var maximumPrincipalCharacters: Int
    /// Page size when a list call gives no `Limit`. Default 100.
    public var defaultPageSize: Int
    /// Largest `Limit` a list call accepts. Default 1,000.
    public var maximumPageSize: Int
    /// Longest string copied into an audit event; longer values are cut and marked. Default 2,048.
    public var maximumAuditedStringCharacters: Int
    /// Most calls that share one transaction and fsync (group commit). Default 256.
    public var maximumCallsPerCommit: Int

    /// Creates limits; every argument has the documented default.
    public init(
        minimumPendingWindowInDays: Int = 7,
        maximumPendingWindowInDays: Int = 30,
        defaultPendingWindowInDays: Int = 30,
        minimumRotationPeriodInDays: Int = 90,
        maximumRotationPeriodInDays: Int = 2560,
        defaultRotationPeriodInDays: Int = 365,
        maximumOnDemandRotations: Int = 10,
        maximumDataKeyBytes: Int = 1024,
        maximumGrantsPerKey: Int = 50_000,
        maximumGrantNameCharacters: Int = 256,
        maximumGrantTokens: Int = 10,
        maximumGrantTokenCharacters: Int = 8192,
        maximumTagsPerKey: Int = 50,
        maximumTagKeyCharacters: Int = 128,
        maximumTagValueCharacters: Int = 256,
        maximumKeyIDCharacters: Int = 2048,
        maximumPrincipalCharacters: Int = 256,
        defaultPageSize: Int = 100,
        maximumPageSize: Int = 1000,
        maximumAuditedStringCharacters: Int = 2048,
        maximumCallsPerCommit: Int = 256
    ) {
        self.minimumPendingWindowInDays = minimumPendingWindowInDays
        self.maximumPendingWindowInDays = maximumPendingWindowInDays
        self.defaultPendingWindowInDays = defaultPendingWindowInDays
        self.minimumRotationPeriodInDays = minimumRotationPeriodInDays
        self.maximumRotationPeriodInDays = maximumRotationPeriodInDays
        self.defaultRotationPeriodInDays = defaultRotationPeriodInDays
        self.maximumOnDemandRotations = maximumOnDemandRotations
        self.maximumDataKeyBytes = maximumDataKeyBytes
        self.maximumGrantsPerKey = maximumGrantsPerKey
        self.maximumGrantNameCharacters = maximumGrantNameCharacters
        self.maximumGrantTokens = maximumGrantTokens
        self.maximumGrantTokenCharacters = maximumGrantTokenCharacters
        self.maximumTagsPerKey = maximumTagsPerKey
        self.maximumTagKeyCharacters = maximumTagKeyCharacters
        self.maximumTagValueCharacters = maximumTagValueCharacters
        self.maximumKeyIDCharacters = maximumKeyIDCharacters
        self.maximumPrincipalCharacters = maximumPrincipalCharacters
        self.defaultPageSize = defaultPageSize
        self.maximumPageSize = maximumPageSize
        self.maximumAuditedStringCharacters = maximumAuditedStringCharacters
        self.maximumCallsPerCommit = maximumCallsPerCommit
    }
}

/// Limits on the batch and transaction Bundles the data service accepts.
public struct FHIRBundleLimits: Hashable, Sendable {
    /// The most entries one Bundle may have. Default 500.
    public var maximumEntries: Int

    /// The largest Bundle, in bytes of JSON. Default 16 MiB (16,777,216).
    public var maximumBytes: Int

    /// Limits on each entry's resource (size of its JSON, nesting). Default
    /// ``FHIRValidationLimits/init(maximumResourceBytes:maximumDepth:)``'s defaults.
    public var resourceLimits: FHIRValidationLimits

    /// Creates limits; every argument has the documented default.
    public init(maximumEntries: Int = 500, maximumBytes: Int = 16 * 1024 * 1024, resourceLimits: FHIRValidationLimits = FHIRValidationLimits()) {
        self.maximumEntries = maximumEntries
        self.maximumBytes = maximumBytes
        self.resourceLimits = resourceLimits
    }

    /// The JSON parser's limits for a whole Bundle: its size, and the resources' nesting plus
    /// the three levels of `Bundle.entry[i].resource`.
    public var jsonLimits: JSONParsingLimits {
        JSONParsingLimits(maximumBytes: self.maximumBytes, maximumDepth: self.resourceLimits.maximumDepth + 3)
    }
}

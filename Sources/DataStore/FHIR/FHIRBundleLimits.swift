/// Limits on the batch and transaction Bundles the data service accepts.
public struct FHIRBundleLimits: Hashable, Sendable {
    /// The most entries one Bundle may have. Default 500.
    public var maximumEntries: Int

    /// The largest Bundle, in bytes of JSON. Default 4 MiB less 4 KiB (4,190,208): with the
    /// message around it, a Bundle fits in one frame of the transport (4 MiB by default).
    public var maximumBytes: Int

    /// The largest response Bundle, in bytes of JSON. Default 4 MiB less 4 KiB (4,190,208), for
    /// the same reason. A transaction whose response would be larger is refused before anything
    /// is written; in a batch, the resources of GET entries that no longer fit are left out and
    /// those entries answered with an OperationOutcome instead.
    public var maximumResponseBytes: Int

    /// Limits on each entry's resource (size of its JSON, nesting). Default
    /// ``FHIRValidationLimits/init(maximumResourceBytes:maximumDepth:)``'s defaults.
    public var resourceLimits: FHIRValidationLimits

    /// Creates limits; every argument has the documented default.
    public init(
        maximumEntries: Int = 500, maximumBytes: Int = 4 * 1024 * 1024 - 4096, maximumResponseBytes: Int = 4 * 1024 * 1024 - 4096,
        resourceLimits: FHIRValidationLimits = FHIRValidationLimits()
    ) {
        self.maximumEntries = maximumEntries
        self.maximumBytes = maximumBytes
        self.maximumResponseBytes = maximumResponseBytes
        self.resourceLimits = resourceLimits
    }

    /// The JSON parser's limits for a whole Bundle: its size, and the resources' nesting plus
    /// the three levels of `Bundle.entry[i].resource`.
    public var jsonLimits: JSONParsingLimits {
        JSONParsingLimits(maximumBytes: self.maximumBytes, maximumDepth: self.resourceLimits.maximumDepth + 3)
    }
}

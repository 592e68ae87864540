/// Limits on resources the data service accepts.
public struct FHIRValidationLimits: Hashable, Sendable {
    /// The largest resource, in bytes of JSON. Default 4 MiB less 4 KiB (4,190,208): a resource
    /// at the limit still fits the transport's default 4 MiB frame with its request around it, so
    /// it is judged by fhird (ValidationException) rather than refused by the transport.
    public var maximumResourceBytes: Int

    /// The deepest nesting of JSON arrays and objects. Default 64.
    public var maximumDepth: Int

    /// Creates limits; every argument has the documented default.
    public init(maximumResourceBytes: Int = 4 * 1024 * 1024 - 4 * 1024, maximumDepth: Int = 64) {
        self.maximumResourceBytes = maximumResourceBytes
        self.maximumDepth = maximumDepth
    }

    /// The same limits for the JSON parser.
    public var jsonLimits: JSONParsingLimits {
        JSONParsingLimits(maximumBytes: self.maximumResourceBytes, maximumDepth: self.maximumDepth)
    }
}

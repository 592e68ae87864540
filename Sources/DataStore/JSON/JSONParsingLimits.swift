/// Limits the JSON parser enforces while it reads, before it buffers more.
public struct JSONParsingLimits: Hashable, Sendable {
    /// The most bytes a document may have. Default 4 MiB (4,194,304), the largest resource
    /// the data service accepts.
    public var maximumBytes: Int

    /// The deepest nesting of arrays and objects. Default 64: real FHIR resources stay below
    /// 20 (extensions within extensions), and the parser recurses once per level.
    public var maximumDepth: Int

    /// Creates limits; every argument has the documented default.
    public init(maximumBytes: Int = 4 * 1024 * 1024, maximumDepth: Int = 64) {
        self.maximumBytes = maximumBytes
        self.maximumDepth = maximumDepth
    }
}

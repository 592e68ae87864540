/// Limits on one search request, so that hostile or careless searches cost bounded work.
///
/// Every limit is checked before the key service is asked for anything.
public struct SearchLimits: Hashable, Sendable {
    /// The most parameters (name=value pairs) in one search. Default 32.
    public var maximumParameters: Int
    /// The most comma-separated alternatives in one parameter value. Default 100.
    public var maximumAlternatives: Int
    /// The longest parameter value, in UTF-8 bytes (all alternatives together). Default 4096.
    public var maximumValueBytes: Int
    /// The longest single alternative, in characters. Default 256.
    public var maximumAlternativeLength: Int
    /// The most blind tokens one search may look up (date ranges expand into many). Default 4096.
    public var maximumTokens: Int
    /// The longest page token accepted, in characters. Default 512.
    public var maximumPageTokenLength: Int
    /// The most candidate resources one page (or one `_summary=count`/`_total`) may decrypt to
    /// check a value the index cannot decide alone (starts-with longer than the indexed prefix).
    /// A page stops early at this budget and its next link continues from there; a count that
    /// would need more is refused as too costly. Default 2000.
    public var maximumPostFilterCandidates: Int

    /// Creates limits; every argument has the documented default.
    public init(
        maximumParameters: Int = 32, maximumAlternatives: Int = 100, maximumValueBytes: Int = 4096, maximumAlternativeLength: Int = 256,
        maximumTokens: Int = 4096, maximumPageTokenLength: Int = 512, maximumPostFilterCandidates: Int = 2000
    ) {
        self.maximumParameters = maximumParameters
        self.maximumAlternatives = maximumAlternatives
        self.maximumValueBytes = maximumValueBytes
        self.maximumAlternativeLength = maximumAlternativeLength
        self.maximumTokens = maximumTokens
        self.maximumPageTokenLength = maximumPageTokenLength
        self.maximumPostFilterCandidates = maximumPostFilterCandidates
    }
}

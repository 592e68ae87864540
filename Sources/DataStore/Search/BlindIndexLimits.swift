/// Limits of the blind index.
public struct BlindIndexLimits: Hashable, Sendable {
    /// The longest prefix indexed for starts-with search, in characters. Default 32. Longer
    /// search values are cut to this length and flagged for filtering after decryption.
    public var maximumPrefixLength: Int

    /// The most tokens one date range may expand to. Default 512: an open-ended range over
    /// ``searchableYears`` (about 400 year tokens plus up to 11 month and 30 day tokens at
    /// each end) fits, a range made of thousands of single days does not.
    public var maximumDateRangeTokens: Int

    /// The years open-ended date searches (`ge`, `gt`, `le`, `lt` without the other end) cover.
    /// Default 1800…2200.
    public var searchableYears: ClosedRange<Int>

    /// Creates limits; every argument has the documented default.
    public init(maximumPrefixLength: Int = 32, maximumDateRangeTokens: Int = 512, searchableYears: ClosedRange<Int> = 1800...2200) {
        self.maximumPrefixLength = maximumPrefixLength
        self.maximumDateRangeTokens = maximumDateRangeTokens
        self.searchableYears = searchableYears
    }
}

/// Latency percentiles of completed calls, in milliseconds.
public struct LatencySummary: Codable, Sendable, Hashable {
    /// Completed calls measured.
    public var count: Int
    /// Median.
    public var p50: Double
    /// 99th percentile.
    public var p99: Double
    /// Slowest.
    public var max: Double

    /// The summary of `latencies` (seconds); zeros when empty. Percentiles are nearest-rank.
    public init(latencies: [Double]) {
        let sorted = latencies.sorted()
        self.count = sorted.count
        func rank(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = Swift.min(sorted.count - 1, Swift.max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
            return (sorted[index] * 1_000_000).rounded() / 1000
        }
        self.p50 = rank(0.5)
        self.p99 = rank(0.99)
        self.max = rank(1)
    }
}

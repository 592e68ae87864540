/// Limits and defaults of a ``FaultProxy``. Each one is documented in `docs/chaos.md`.
public struct FaultProxySettings: Sendable, Hashable {
    /// Most client connections proxied at once; more are closed on accept.
    public var maxConnections: Int = 1024
    /// Bytes held per flow of a connection (delayed, sliced, rate-limited or blackholed) above which
    /// the proxy stops reading from that flow's source, so TCP flow control pushes back on the sender
    /// instead of the proxy buffering without bound.
    public var highWaterMark: Int = 1024 * 1024
    /// Held bytes below which reading resumes after the high-water mark was reached.
    public var lowWaterMark: Int = 256 * 1024
    /// Time allowed to connect to the upstream; on failure the client connection is closed.
    public var connectTimeout: Duration = .seconds(5)
    /// Largest piece a bandwidth toxic releases at once, as a fraction of a second of its rate
    /// (0.05 = 50 ms worth of bytes), so throughput is smooth rather than bursty.
    public var bandwidthSliceSeconds: Double = 0.05
    /// Seed of the generator that draws latency jitter and slice sizes; each connection derives its
    /// own stream from it and its sequence number.
    public var seed: UInt64 = 0x6B65_796C_616B_65

    /// The documented defaults.
    public init() {}
}

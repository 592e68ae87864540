/// Limits a server enforces on every connection. Each one is documented in `docs/protocol.md`.
public struct ServerLimits: Sendable, Hashable {
    /// Largest frame payload accepted, in bytes; checked from the header before buffering.
    public var maxFrameSize: Int = 4 * 1024 * 1024
    /// Most streams a client may have open at once on one connection; more are refused with
    /// `RESOURCE_EXHAUSTED`.
    public var maxConcurrentStreams: Int = 1024
    /// Largest serialized request headers, in bytes.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Most message bytes one call may send to the server in total; beyond, the call ends with
    /// `RESOURCE_EXHAUSTED`. Bounds the memory a single stream can pin.
    public var maxInboundBytesPerStream: Int = 64 * 1024 * 1024
    /// Time allowed from TCP accept to the end of the TLS handshake.
    public var tlsHandshakeTimeout: Duration = .seconds(10)
    /// Time allowed from the end of the TLS handshake to the client's HELLO.
    public var helloTimeout: Duration = .seconds(10)
    /// A connection without open streams for this long is closed.
    public var idleTimeout: Duration = .seconds(300)
    /// Most connections open at once; more are closed on accept.
    public var maxConnections: Int = 1024
    /// Most PINGs accepted from one connection per minute.
    public var maxPingsPerMinute: Int = 120
    /// On graceful shutdown, time given to in-flight calls before they are cancelled.
    public var shutdownGracePeriod: Duration = .seconds(10)

    /// The documented defaults.
    public init() {}
}

/// Settings of a client transport.
public struct ClientSettings: Sendable, Hashable {
    /// Largest frame payload accepted from the server, in bytes.
    public var maxFrameSize: Int = 4 * 1024 * 1024
    /// Time allowed for TCP connect plus TLS handshake plus the server's HELLO.
    public var connectTimeout: Duration = .seconds(10)
    /// A PING is sent after this long without reading anything from the server.
    public var keepaliveInterval: Duration = .seconds(30)
    /// The connection is considered dead when a PING is not answered within this time.
    public var keepaliveTimeout: Duration = .seconds(10)
    /// First reconnect delay after a failed connection attempt.
    public var backoffInitial: Duration = .milliseconds(100)
    /// Growth factor of the reconnect delay.
    public var backoffMultiplier: Double = 2
    /// Longest reconnect delay.
    public var backoffMax: Duration = .seconds(10)
    /// Random spread applied to each delay, as a fraction (0.2 = ±20 %).
    public var backoffJitter: Double = 0.2
    /// While the target cannot be reached, calls wait for the next successful connection (up to
    /// their deadline) instead of failing at once with `UNAVAILABLE` — gRPC's "wait for ready".
    /// Right for a daemon's link to another daemon that may start later or restart.
    public var waitForReady: Bool = false

    /// The documented defaults.
    public init() {}
}

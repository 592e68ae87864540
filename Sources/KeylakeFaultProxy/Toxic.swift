/// A fault applied to the bytes a ``FaultProxy`` forwards, in the manner of toxiproxy's toxics.
///
/// A toxic has a unique ``name`` (by which it is replaced or removed), a ``kind`` with its
/// parameters, and the ``direction`` of the bytes it acts on. Toxics can be added, changed and
/// removed while connections are open; a change applies to bytes read after it (and, for
/// ``Kind/timeout(_:)``, ``Kind/resetPeer(after:)``, to every open connection at once).
public struct Toxic: Sendable, Hashable, Codable {
    /// Which bytes a toxic acts on.
    public enum Direction: String, Sendable, Hashable, Codable, CaseIterable {
        /// Bytes from the client to the upstream server.
        case upstream
        /// Bytes from the upstream server to the client (toxiproxy's default).
        case downstream
        /// Both ways.
        case both

        /// Whether bytes flowing in `flow` are affected.
        public func covers(_ flow: Flow) -> Bool {
            switch self {
            case .both: true
            case .upstream: flow == .upstream
            case .downstream: flow == .downstream
            }
        }
    }

    /// One of the two byte flows of a proxied connection.
    public enum Flow: String, Sendable, Hashable, Codable, CaseIterable {
        /// Client to upstream server.
        case upstream
        /// Upstream server to client.
        case downstream
    }

    /// What a toxic does.
    public enum Kind: Sendable, Hashable, Codable {
        /// Delays every chunk by `latency` plus a uniformly drawn amount in `-jitter...jitter`
        /// (never below zero). Order is kept.
        case latency(latency: Duration, jitter: Duration)
        /// Limits throughput to `bytesPerSecond`.
        case bandwidth(bytesPerSecond: Int)
        /// Stops forwarding (holds the bytes, reading stops at the high-water mark so memory stays
        /// bounded). With a timeout above zero the connection is closed that long after the toxic
        /// took effect on it; with zero the bytes are held until the toxic is removed, then delivered.
        case timeout(Duration)
        /// Closes the connection with a TCP RST (SO_LINGER 0) that long after the toxic took effect
        /// on it: the client side for `downstream`, the upstream side for `upstream`, both for `both`.
        case resetPeer(after: Duration)
        /// Splits chunks into pieces of `averageSize ± sizeVariation` bytes with `delay` between them.
        case slicer(averageSize: Int, sizeVariation: Int, delay: Duration)
        /// Delays the close that follows the end of the flow by `delay`.
        case slowClose(delay: Duration)

        /// The name used in specs and listings (`latency`, `bandwidth`, `timeout`, `reset_peer`,
        /// `slicer`, `slow_close`).
        public var typeName: String {
            switch self {
            case .latency: "latency"
            case .bandwidth: "bandwidth"
            case .timeout: "timeout"
            case .resetPeer: "reset_peer"
            case .slicer: "slicer"
            case .slowClose: "slow_close"
            }
        }
    }

    /// Unique name within a proxy; by default the type name.
    public var name: String
    /// What the toxic does.
    public var kind: Kind
    /// Which bytes it acts on.
    public var direction: Direction

    /// Creates a toxic.
    ///
    /// - Throws: ``FaultProxyError`` with code `invalidToxic` when a parameter is out of range.
    public init(name: String? = nil, kind: Kind, direction: Direction = .downstream) throws {
        self.name = name ?? kind.typeName
        self.kind = kind
        self.direction = direction
        try self.validate()
    }

    /// Checks parameters: durations not negative, sizes and rates positive, a name made of letters,
    /// digits, `_`, `-` and `.` (at most 64).
    ///
    /// - Throws: ``FaultProxyError`` with code `invalidToxic`.
    public func validate() throws {
        let allowed = self.name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == "."
        }
        guard !self.name.isEmpty, self.name.count <= 64, allowed else {
            throw FaultProxyError(.invalidToxic, "toxic name must be 1-64 letters, digits, '_', '-' or '.'")
        }
        func nonNegative(_ value: Duration, _ what: String) throws {
            guard value >= .zero else { throw FaultProxyError(.invalidToxic, "\(self.kind.typeName): \(what) must not be negative") }
        }
        switch self.kind {
        case .latency(let latency, let jitter):
            try nonNegative(latency, "latency")
            try nonNegative(jitter, "jitter")
        case .bandwidth(let rate):
            guard rate > 0 else { throw FaultProxyError(.invalidToxic, "bandwidth: rate must be above 0 bytes/s") }
        case .timeout(let timeout):
            try nonNegative(timeout, "timeout")
        case .resetPeer(let after):
            try nonNegative(after, "timeout")
        case .slicer(let average, let variation, let delay):
            guard average > 0 else { throw FaultProxyError(.invalidToxic, "slicer: average_size must be above 0") }
            guard variation >= 0, variation < average else {
                throw FaultProxyError(.invalidToxic, "slicer: size_variation must be at least 0 and below average_size")
            }
            try nonNegative(delay, "delay")
        case .slowClose(let delay):
            try nonNegative(delay, "delay")
        }
    }
}

extension Toxic {
    /// Parses a toxic spec: a type followed by `key=value` words, as used by `keylake chaos proxy`.
    ///
    /// Types and keys (durations in milliseconds, decimals allowed):
    /// - `latency latency=MS [jitter=MS]`
    /// - `bandwidth rate=BYTES_PER_SECOND`
    /// - `timeout [timeout=MS]` (0, the default, holds bytes until removed)
    /// - `blackhole` (the same as `timeout timeout=0`, named `blackhole` by default)
    /// - `reset_peer [timeout=MS]`
    /// - `slicer average_size=BYTES [size_variation=BYTES] [delay=MS]`
    /// - `slow_close delay=MS`
    ///
    /// Every type also takes `name=NAME` (default: the type) and
    /// `direction=upstream|downstream|both` (default `downstream`, as in toxiproxy).
    ///
    /// - Throws: ``FaultProxyError`` with code `invalidToxic` naming the bad word.
    public init(spec: String) throws {
        let words = spec.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        try self.init(words: words)
    }

    /// Parses a toxic spec already split into words (see ``init(spec:)``).
    ///
    /// - Throws: ``FaultProxyError`` with code `invalidToxic`.
    public init(words: [String]) throws {
        guard let type = words.first?.lowercased() else {
            throw FaultProxyError(.invalidToxic, "empty toxic spec: expected a type (latency, bandwidth, timeout, blackhole, reset_peer, slicer, slow_close)")
        }
        var parameters: [String: String] = [:]
        for word in words.dropFirst() {
            guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
                throw FaultProxyError(.invalidToxic, "\(type): expected key=value, got '\(word)'")
            }
            let key = word[..<equals].lowercased()
            guard parameters[key] == nil else { throw FaultProxyError(.invalidToxic, "\(type): \(key) given twice") }
            parameters[key] = String(word[word.index(after: equals)...])
        }
        var reader = SpecReader(type: type, parameters: parameters)
        let name = reader.take("name")
        let direction: Direction
        if let value = reader.take("direction") {
            guard let parsed = Direction(rawValue: value.lowercased()) else {
                throw FaultProxyError(.invalidToxic, "\(type): direction must be upstream, downstream or both, got '\(value)'")
            }
            direction = parsed
        } else {
            direction = .downstream
        }
        let kind: Kind
        var defaultName: String?
        switch type {
        case "latency":
            kind = .latency(latency: try reader.milliseconds("latency", required: true), jitter: try reader.milliseconds("jitter"))
        case "bandwidth":
            kind = .bandwidth(bytesPerSecond: try reader.integer("rate", required: true))
        case "timeout":
            kind = .timeout(try reader.milliseconds("timeout"))
        case "blackhole":
            kind = .timeout(try reader.milliseconds("timeout"))
            defaultName = "blackhole"
        case "reset_peer", "resetpeer", "reset":
            kind = .resetPeer(after: try reader.milliseconds("timeout"))
        case "slicer":
            kind = .slicer(
                averageSize: try reader.integer("average_size", required: true),
                sizeVariation: try reader.integer("size_variation"),
                delay: try reader.milliseconds("delay"))
        case "slow_close", "slowclose":
            kind = .slowClose(delay: try reader.milliseconds("delay", required: true))
        default:
            throw FaultProxyError(
                .invalidToxic, "unknown toxic type '\(type)' (latency, bandwidth, timeout, blackhole, reset_peer, slicer, slow_close)")
        }
        if let unknown = reader.remainingKeys.first {
            throw FaultProxyError(.invalidToxic, "\(type): unknown parameter '\(unknown)'")
        }
        try self.init(name: name ?? defaultName, kind: kind, direction: direction)
    }

    /// The toxic as a spec that ``init(spec:)`` reads back.
    public var spec: String {
        func ms(_ duration: Duration) -> String {
            let (seconds, attoseconds) = duration.components
            let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
            return micros % 1000 == 0 ? "\(micros / 1000)" : "\(Double(micros) / 1000)"
        }
        let parameters: String
        switch self.kind {
        case .latency(let latency, let jitter): parameters = "latency=\(ms(latency)) jitter=\(ms(jitter))"
        case .bandwidth(let rate): parameters = "rate=\(rate)"
        case .timeout(let timeout): parameters = "timeout=\(ms(timeout))"
        case .resetPeer(let after): parameters = "timeout=\(ms(after))"
        case .slicer(let average, let variation, let delay):
            parameters = "average_size=\(average) size_variation=\(variation) delay=\(ms(delay))"
        case .slowClose(let delay): parameters = "delay=\(ms(delay))"
        }
        return "\(self.kind.typeName) name=\(self.name) direction=\(self.direction.rawValue) \(parameters)"
    }
}

/// Takes typed values out of a spec's `key=value` words, remembering which were used.
private struct SpecReader {
    let type: String
    var parameters: [String: String]

    /// Largest duration a spec accepts: one day.
    static let maxMilliseconds: Double = 86_400_000

    var remainingKeys: [String] { self.parameters.keys.sorted() }

    mutating func take(_ key: String) -> String? {
        self.parameters.removeValue(forKey: key)
    }

    mutating func milliseconds(_ key: String, required: Bool = false) throws -> Duration {
        guard let value = self.take(key) else {
            if required { throw FaultProxyError(.invalidToxic, "\(self.type): \(key)=MS is required") }
            return .zero
        }
        guard let number = Double(value), number.isFinite, number >= 0, number <= Self.maxMilliseconds else {
            throw FaultProxyError(
                .invalidToxic, "\(self.type): \(key) must be a number of milliseconds between 0 and \(Int(Self.maxMilliseconds)), got '\(value)'")
        }
        return .microseconds(Int64((number * 1000).rounded()))
    }

    mutating func integer(_ key: String, required: Bool = false) throws -> Int {
        guard let value = self.take(key) else {
            if required { throw FaultProxyError(.invalidToxic, "\(self.type): \(key)=N is required") }
            return 0
        }
        guard let number = Int(value), number >= 0, number <= 1 << 40 else {
            throw FaultProxyError(.invalidToxic, "\(self.type): \(key) must be a whole number, got '\(value)'")
        }
        return number
    }
}

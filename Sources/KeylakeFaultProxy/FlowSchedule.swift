public import NIOCore

/// The pure timing of one flow of a proxied connection: given a chunk just read and the toxics in
/// force, where to cut it and when each piece may be written. No I/O; the channel handlers only
/// carry out the plan.
///
/// Latency is added first (one draw per chunk), then the slicer cuts the chunk, then the bandwidth
/// limit spaces the pieces; release times never go backwards, so bytes keep their order.
public struct FlowSchedule: Sendable {
    /// A piece of a chunk and the earliest time it may be written.
    public struct Piece: Sendable, Hashable {
        /// Offset of the piece in the chunk.
        public var offset: Int
        /// Length of the piece in bytes (at least 1).
        public var length: Int
        /// Earliest time the piece may be written.
        public var notBefore: NIODeadline
    }

    private var lastRelease: NIODeadline = .uptimeNanoseconds(0)
    private var bandwidthCursor: NIODeadline = .uptimeNanoseconds(0)
    private let bandwidthSliceSeconds: Double

    /// A schedule with no history. `bandwidthSliceSeconds` bounds a bandwidth-limited piece to that
    /// many seconds' worth of bytes (see ``FaultProxySettings/bandwidthSliceSeconds``).
    public init(bandwidthSliceSeconds: Double = FaultProxySettings().bandwidthSliceSeconds) {
        self.bandwidthSliceSeconds = bandwidthSliceSeconds
    }

    /// Plans a chunk of `length` bytes read at `arrival` under `toxics` (those that cover this flow).
    public mutating func plan(
        length: Int, arrival: NIODeadline, toxics: [Toxic.Kind], using generator: inout some RandomNumberGenerator
    ) -> [Piece] {
        guard length > 0 else { return [] }
        var ready = arrival
        var slicer: (average: Int, variation: Int, delay: Duration)?
        var rate: Int?
        for kind in toxics {
            switch kind {
            case .latency(let latency, let jitter):
                ready = ready + TimeAmount(Self.draw(latency: latency, jitter: jitter, using: &generator))
            case .slicer(let average, let variation, let delay):
                if slicer == nil { slicer = (average, variation, delay) }
            case .bandwidth(let bytesPerSecond):
                rate = min(rate ?? bytesPerSecond, bytesPerSecond)
            case .timeout, .resetPeer, .slowClose:
                break
            }
        }
        var pieces: [Piece] = []
        if let slicer {
            var offset = 0
            var at = ready
            for size in Self.sliceSizes(length: length, average: slicer.average, variation: slicer.variation, using: &generator) {
                pieces.append(Piece(offset: offset, length: size, notBefore: at))
                offset += size
                at = at + TimeAmount(slicer.delay)
            }
        } else {
            pieces = [Piece(offset: 0, length: length, notBefore: ready)]
        }
        if let rate {
            let maxPiece = max(1, Int(Double(rate) * self.bandwidthSliceSeconds))
            var spaced: [Piece] = []
            for piece in pieces {
                var offset = piece.offset
                let end = piece.offset + piece.length
                while offset < end {
                    let size = min(maxPiece, end - offset)
                    let start = max(piece.notBefore, self.bandwidthCursor)
                    spaced.append(Piece(offset: offset, length: size, notBefore: start))
                    self.bandwidthCursor = start + .nanoseconds(Int64(Double(size) / Double(rate) * 1e9))
                    offset += size
                }
            }
            pieces = spaced
        }
        for index in pieces.indices {
            pieces[index].notBefore = max(pieces[index].notBefore, self.lastRelease)
            self.lastRelease = pieces[index].notBefore
        }
        return pieces
    }

    /// A latency draw: `latency` plus a uniform amount in `-jitter...jitter`, never below zero.
    public static func draw(latency: Duration, jitter: Duration, using generator: inout some RandomNumberGenerator) -> Duration {
        let base = Self.nanoseconds(latency)
        let spread = Self.nanoseconds(jitter)
        let offset = spread > 0 ? Int64.random(in: -spread...spread, using: &generator) : 0
        return .nanoseconds(max(0, base + offset))
    }

    /// Sizes that add up to `length`, each `average ± variation` (at least 1) except possibly the last.
    public static func sliceSizes(
        length: Int, average: Int, variation: Int, using generator: inout some RandomNumberGenerator
    ) -> [Int] {
        var sizes: [Int] = []
        var left = length
        while left > 0 {
            let drawn = variation > 0 ? Int.random(in: (average - variation)...(average + variation), using: &generator) : average
            let size = min(left, max(1, drawn))
            sizes.append(size)
            left -= size
        }
        return sizes
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

extension TimeAmount {
    /// The same span as a Swift `Duration`, to nanosecond precision.
    init(_ duration: Duration) {
        self = .nanoseconds(FlowSchedule.nanoseconds(duration))
    }
}

/// The seeded part of a run: when the fault is injected, how long it lasts, and each client's
/// sequence of operation kinds and resource choices. The same seed and parameters give the same
/// schedule (the timing of the system under test does not).
public struct ChaosSchedule: Sendable, Hashable {
    /// The seed.
    public let seed: UInt64
    /// Length of the load, in seconds.
    public let duration: Double
    /// When the fault is injected: a seeded moment in the middle third of the load.
    public let faultAt: Double
    /// How long a reversible fault lasts before it is healed: a fifth of the load, at least 2 s
    /// (longer than fhird's kmsd call deadline in managed mode, so calls do fail) and at most 30 s.
    public let faultHold: Double

    /// Relative weights of the operation kinds clients choose from.
    public static let operationWeights: [(OperationKind, Int)] = [
        (.create, 30), (.read, 30), (.update, 15), (.search, 15), (.bundle, 10),
    ]

    /// The schedule for `seed` and a load of `duration` seconds.
    public init(seed: UInt64, duration: Double) {
        self.seed = seed
        self.duration = duration
        var generator = SplitMix64(seed: seed)
        self.faultAt = duration / 3 + generator.nextUnit() * duration / 3
        self.faultHold = min(max(duration / 5, 2), 30)
    }

    /// The generator of client `client`'s choices: independent of the other clients', so a
    /// client's sequence does not depend on how calls interleave.
    public func generator(forClient client: Int) -> SplitMix64 {
        SplitMix64(seed: self.seed ^ (0xA076_1D64_78BD_642F &* UInt64(client + 1)))
    }

    /// The next operation kind: a create when the client has no resource yet; bundles only when
    /// `bundles` is true (their weight then goes to creates).
    public static func nextKind(using generator: inout SplitMix64, hasResources: Bool, bundles: Bool) -> OperationKind {
        guard hasResources else { return .create }
        let weights = Self.operationWeights.map { kind, weight in (kind, kind == .bundle && !bundles ? 0 : weight) }
        let total = weights.reduce(0) { $0 + $1.1 } + (bundles ? 0 : Self.operationWeights.first { $0.0 == .bundle }!.1)
        var pick = Int(generator.next() % UInt64(total))
        for (kind, weight) in weights {
            if pick < weight { return kind }
            pick -= weight
        }
        return .create
    }

    /// A seeded index below `count` (a resource to read or update).
    public static func nextIndex(using generator: inout SplitMix64, below count: Int) -> Int {
        precondition(count > 0, "no index below 0")
        return Int(generator.next() % UInt64(count))
    }
}

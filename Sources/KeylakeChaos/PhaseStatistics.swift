/// Throughput, errors and latency of the operations invoked in one phase of a run.
public struct PhaseStatistics: Codable, Sendable, Hashable {
    /// `before`, `during` or `after` the fault.
    public var phase: String
    /// Start of the phase, seconds since the start of the run.
    public var start: Double
    /// End of the phase.
    public var end: Double
    /// Operations invoked in the phase.
    public var operations: Int
    /// Of which succeeded.
    public var succeeded: Int
    /// Successful operations per second.
    public var throughput: Double
    /// Failures by error name (`hung` for calls that never completed).
    public var errors: [String: Int]
    /// Latency of the completed operations.
    public var latency: LatencySummary

    /// Statistics of `operations` over [`start`, `end`).
    public init(phase: String, start: Double, end: Double, operations: [OperationRecord]) {
        self.phase = phase
        self.start = start
        self.end = end
        self.operations = operations.count
        self.succeeded = operations.filter(\.succeeded).count
        let length = end - start
        self.throughput = length > 0 ? (Double(self.succeeded) / length * 10).rounded() / 10 : 0
        self.errors = Self.errorCounts(operations)
        self.latency = LatencySummary(latencies: operations.compactMap(\.latency))
    }

    /// Failures of `operations` by error name; `hung` for calls that never completed.
    public static func errorCounts(_ operations: [OperationRecord]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for operation in operations where !operation.succeeded {
            counts[operation.completed == nil ? "hung" : operation.errorName ?? "?", default: 0] += 1
        }
        return counts
    }
}

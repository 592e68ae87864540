/// Retries a call of the run's own bookkeeping (set-up, verification, audit) while it fails for
/// a transient reason — the daemon or its link is still coming back — within a bounded budget.
/// Load calls are never retried: their failures are what the run records.
enum ChaosRetry {
    /// Error names that say "try again later".
    static let transientNames: Set<String> = ["UNAVAILABLE", "DEADLINE_EXCEEDED", "KmsKeyUnavailableException"]

    /// Runs `body` until it succeeds, fails for a non-transient reason, or `budget` has passed.
    static func call<T>(_ what: String, budget: Duration = .seconds(30), _ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + budget
        while true {
            do {
                return try await body()
            } catch {
                let name = ChaosErrorName.of(error)
                guard Self.transientNames.contains(name), ContinuousClock.now < deadline else {
                    throw CLIError("\(what) failed: \(name)")
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}

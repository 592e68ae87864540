/// A deadline for the calls made inside a scope, enforced by ``KeylakeClientTransport`` itself
/// rather than by GRPCCore.
///
/// ```swift
/// let reply = try await TransportDeadline.withTimeout(.seconds(10)) {
///     try await keys.decrypt(request)
/// }
/// ```
///
/// A call made inside the scope without `CallOptions.timeout` gets the scope's deadline: waiting
/// for a connection is bounded by it, the deadline travels to the server as `timeout_micros`,
/// and a timer on the connection's event loop fails the call with `DEADLINE_EXCEEDED` (and sends
/// CANCEL) when it passes. The effect is that of `CallOptions.timeout`; the difference is cost:
/// GRPCCore races a call with `CallOptions.timeout` against a `Task.sleep` in a task group of its
/// own (two more tasks and a dispatch timer per call). Calls made for every request a service
/// serves (fhird's calls to kmsd) use this; `CallOptions.timeout`, when given, wins.
/// Nested scopes keep the earlier deadline.
public enum TransportDeadline {
    @TaskLocal static var current: ContinuousClock.Instant?

    /// The longest timeout a scope takes: longer ones are treated as this (a century), so that
    /// the deadline never overflows the clock.
    public static let longestTimeout: Duration = .seconds(100 * 365 * 24 * 3600)

    /// Runs `body` with calls bounded by `timeout` from now (or by an enclosing scope's earlier
    /// deadline). A timeout of zero or less means the deadline has passed: calls fail at once
    /// with `DEADLINE_EXCEEDED`.
    public static func withTimeout<T>(_ timeout: Duration, _ body: () async throws -> T) async rethrows -> T {
        let deadline = ContinuousClock.now.advanced(by: Swift.min(Swift.max(timeout, .zero), Self.longestTimeout))
        let effective = Self.current.map { Swift.min($0, deadline) } ?? deadline
        return try await Self.$current.withValue(effective) { try await body() }
    }
}

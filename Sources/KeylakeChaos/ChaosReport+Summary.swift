extension ChaosReport {
    /// The short human summary printed on stdout.
    public var summary: [String] {
        func seconds(_ value: Double?) -> String { value.map { "\(InvariantChecker.format($0)) s" } ?? "-" }
        var lines = [
            "chaos \(self.scenario.rawValue): seed \(self.seed), \(self.clients) clients, \(seconds(self.duration)) load, \(self.operations) operations",
            "fault injected at \(seconds(self.fault.injectInvoked)) (returned \(seconds(self.fault.injectReturned)))"
                + (self.fault.healReturned.map { ", healed at \(seconds($0))" } ?? ", not healed"),
        ]
        for phase in self.phases {
            let errors = phase.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append(
                "  \(phase.phase + String(repeating: " ", count: max(0, 6 - phase.phase.count))) \(phase.operations) ops, \(phase.succeeded) ok, "
                    + "\(phase.throughput)/s, p50 \(phase.latency.p50) ms, p99 \(phase.latency.p99) ms, max \(phase.latency.max) ms"
                    + (errors.isEmpty ? "" : "; errors: \(errors)"))
        }
        if self.scenario.takesAccessAway {
            lines.append(
                "revocation latency: \(seconds(self.revocationLatency)); successes after revocation: \(self.successesAfterRevocation ?? 0)")
        }
        if self.scenario.isReversible {
            lines.append("recovery: \(seconds(self.recoveryTime)) after healing (bound \(seconds(self.recoveryBound)))")
        }
        for result in self.invariants {
            let verdict = !result.applies ? "n/a " : result.passed ? "PASS" : "FAIL"
            lines.append("  [\(verdict)] \(result.invariant.rawValue). \(result.name): \(result.detail)")
            for violation in result.violations.prefix(5) {
                lines.append("         \(violation.kind): \(violation.message)")
            }
            if result.violations.count > 5 { lines.append("         … and \(result.violations.count - 5) more") }
        }
        lines.append(self.passed ? "all invariants hold" : "INVARIANTS VIOLATED")
        return lines
    }
}

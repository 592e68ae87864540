import ArgumentParser

/// `keylake chaos <scenario>` and `keylake chaos proxy`: fault injection with an invariant check.
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Run a chaos scenario against real daemons and check invariants over the recorded history.",
        discussion: """
            keylake chaos <scenario> runs the scenario (the default subcommand, `run`); \
            keylake chaos proxy runs the fault proxy on its own. See docs/chaos.md.
            """,
        subcommands: [ChaosRunCommand.self, ChaosProxyCommand.self],
        defaultSubcommand: ChaosRunCommand.self)
}

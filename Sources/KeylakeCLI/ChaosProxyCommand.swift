import ArgumentParser

/// `keylake chaos proxy --listen HOST:PORT --upstream HOST:PORT [--toxic SPEC ...]`: a TCP fault proxy
/// (toxiproxy-like) for the link between fhird and kmsd, controlled line by line on stdin.
struct ChaosProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy", abstract: "Run a TCP fault proxy whose toxics are controlled on stdin.")

    @Option(name: .long, help: "Address to listen on, HOST:PORT (port 0 picks a free port).")
    var listen: String = "127.0.0.1:0"

    @Option(name: .long, help: "Upstream to forward to, HOST:PORT.")
    var upstream: String

    @Option(name: .long, help: "A toxic to start with, e.g. 'latency latency=200 jitter=50 direction=downstream'. Repeatable.")
    var toxic: [String] = []

    func run() async throws {
        throw ValidationError("keylake chaos proxy is not implemented yet")
    }
}

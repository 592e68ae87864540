import ArgumentParser
import Foundation
import KeylakeFaultProxy
import Logging
import UnixSignals

/// `keylake chaos proxy --listen HOST:PORT --upstream HOST:PORT [--toxic SPEC ...]`: a TCP fault proxy
/// (toxiproxy-like) for the link between fhird and kmsd, controlled line by line on stdin.
///
/// Prints one JSON readiness line (`{"ready":true,"listen":…,"upstream":…}`) once it listens, then
/// answers each control line (see ``ProxyControlCommand``) with one JSON line. Exits on SIGINT,
/// SIGTERM or end of standard input. Logs go to standard error.
struct ChaosProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy", abstract: "Run a TCP fault proxy whose toxics are controlled on stdin.",
        discussion: """
            Control lines on stdin (one JSON answer per line on stdout):
              add SPEC | update SPEC | remove NAME | reset | down | up | partition | list
            SPEC: latency latency=MS [jitter=MS] | bandwidth rate=BYTES_PER_S | timeout [timeout=MS] |
                  blackhole | reset_peer [timeout=MS] | slicer average_size=N [size_variation=N] [delay=MS] |
                  slow_close delay=MS; each may add name=NAME and direction=upstream|downstream|both
                  (default downstream). See docs/chaos.md.
            """)

    @Option(name: .long, help: "Address to listen on, HOST:PORT (port 0 picks a free port).")
    var listen: String = "127.0.0.1:0"

    @Option(name: .long, help: "Upstream to forward to, HOST:PORT.")
    var upstream: String

    @Option(name: .long, help: "A toxic to start with, e.g. 'latency latency=200 jitter=50 direction=both'. Repeatable.")
    var toxic: [String] = []

    @Option(name: .long, help: "Seed of the jitter and slice-size generator.")
    var seed: UInt64?

    @Option(name: .long, help: "Log level (logs go to standard error).")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let listen: ProxyAddress
        let upstream: ProxyAddress
        let toxics: [Toxic]
        do {
            listen = try ProxyAddress(parsing: self.listen)
            upstream = try ProxyAddress(parsing: self.upstream)
            guard upstream.port != 0 else { throw FaultProxyError(.invalidAddress, "--upstream needs a port above 0") }
            toxics = try self.toxic.map { try Toxic(spec: $0) }
        } catch let error as FaultProxyError {
            throw ValidationError(error.message)
        }
        let level = self.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var settings = FaultProxySettings()
        if let seed = self.seed { settings.seed = seed }
        let proxy = FaultProxy(
            configuration: .init(
                listenHost: listen.host, listenPort: listen.port, upstreamHost: upstream.host, upstreamPort: upstream.port,
                settings: settings, logger: Logger(label: "keylake.chaos.proxy")))
        for toxic in toxics {
            do {
                try proxy.addToxic(toxic)
            } catch let error as FaultProxyError {
                throw ValidationError(error.message)
            }
        }
        let port: Int
        do {
            port = try await proxy.start()
        } catch {
            throw CLIError("\(error)")
        }
        Self.emit(ReadyLine(listen: ProxyAddress(host: listen.host, port: port).description, upstream: upstream.description))

        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals { return }
            }
            group.addTask {
                for await line in Self.standardInputLines() {
                    guard !line.allSatisfy(\.isWhitespace) else { continue }
                    Self.emit(await proxy.execute(line: line))
                }
            }
            group.addTask {
                try? await proxy.run()
            }
            await group.next()
            group.cancelAll()
            await proxy.shutdown()
        }
    }

    /// The first line printed: the proxy listens.
    private struct ReadyLine: Encodable {
        var ready = true
        var listen: String
        var upstream: String
    }

    private static func emit(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(value) else { return }
        // Written straight to the file descriptor: no stdio buffer to flush (fflush(nil) would also
        // wait for stdin's lock, held by the reader thread blocked in readLine).
        data.append(UInt8(ascii: "\n"))
        Terminal.output(data)
    }

    /// Lines of standard input, read on a thread of their own (reading blocks); ends at EOF.
    private static func standardInputLines() -> AsyncStream<String> {
        let (lines, continuation) = AsyncStream<String>.makeStream()
        let reader = Thread {
            while let line = readLine(strippingNewline: true) {
                continuation.yield(line)
            }
            continuation.finish()
        }
        reader.start()
        return lines
    }
}

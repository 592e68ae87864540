import ArgumentParser
import Foundation
import SwiftProtobuf
import NIOCore
import GRPCCore
import GRPCInProcessTransport
import Histogram
import KeylakeDevPKI
import KeylakeProto
import KeylakeRPC
import KeylakeTransport
import Logging

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks.", subcommands: [BenchRPCCommand.self, BenchKMSCommand.self, BenchFHIRCommand.self])
}

/// `keylake bench rpc`: unary calls over the real transport (TLS 1.3, loopback) against the same
/// handler called in-process, in one run, so the ratio survives a noisy machine.
struct BenchRPCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Measure unary RPC throughput and latency over mTLS against an in-process baseline.")

    @Option(name: .long, help: "Client connections.")
    var connections: Int = 1

    @Option(name: .long, help: "Calls in flight at once, spread over the connections.")
    var concurrency: Int = 64

    @Option(name: .long, help: "Seconds to measure, after warm-up.")
    var duration: Double = 10

    @Option(name: .long, help: "Seconds of warm-up (not measured).")
    var warmup: Double = 2

    @Option(name: .long, help: "Echo payload size in bytes.")
    var payload: Int = 32

    @Option(name: .long, help: "Method: echo or health.")
    var method: String = "echo"

    func validate() throws {
        guard self.connections >= 1, self.concurrency >= self.connections else {
            throw ValidationError("need at least one connection and at least one call per connection")
        }
        guard self.duration > 0, self.warmup >= 0, (0...DiagnosticsService.maxEchoBytes).contains(self.payload) else {
            throw ValidationError("duration must be positive, warm-up non-negative, payload within the echo limit")
        }
        guard ["echo", "health"].contains(self.method) else { throw ValidationError("--method is echo or health") }
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keylake-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pki = try DevPKI.create(in: directory)
        func files(_ name: String) throws -> TLSFiles {
            let identity = try pki.requireIdentity(named: name)
            return TLSFiles(certificateChain: identity.certificatePath, privateKey: identity.privateKeyPath, trustRoots: pki.caCertificatePath)
        }
        var logger = Logger(label: "keylake.bench")
        logger.logLevel = .error
        let request = Keylake_Diagnostics_V1_EchoRequest.with { $0.payload = Data(repeating: 0x5A, count: self.payload) }
        let diagnostics = DiagnosticsService(serverName: "bench")
        let health = HealthService()

        // Baseline: the same handler, called in-process with the same concurrency.
        let context = ServerContext(
            descriptor: MethodDescriptor(fullyQualifiedService: "keylake.diagnostics.v1.Diagnostics", method: "Echo"),
            remotePeer: "in-process", localPeer: "in-process", cancellation: .init())
        let method = self.method
        let baseline = try await Self.measure(
            workers: self.concurrency, warmup: self.warmup, duration: self.duration
        ) { _ in
            if method == "echo" {
                _ = try await diagnostics.echo(request: request, context: context)
            } else {
                _ = try await health.check(request: .init(), context: context)
            }
        }

        // GRPCCore's own in-process transport: the same client and server machinery, no framing,
        // TLS or sockets. The gap to it is what the Keylake transport costs.
        let inProcess = InProcessTransport()
        let inProcessClient = inProcess.client
        let grpcInProcess = try await Self.measureOverGRPC(
            server: inProcess.server, clients: { [inProcessClient] }, services: [diagnostics, health],
            workers: self.concurrency, warmup: self.warmup, duration: self.duration,
            call: Self.rpcCall(method: method, request: request))

        // Over the Keylake transport: TLS 1.3 on loopback.
        let transport = KeylakeServerTransport(
            configuration: .init(host: "127.0.0.1", port: 0, tls: try files("kmsd"), logger: logger))
        let clientFiles = try files("app")
        let connections = self.connections
        let clientLogger = logger
        let overTransport = try await Self.measureOverGRPC(
            server: transport,
            clients: {
                let port = try await transport.listeningAddress().port!
                return try (0..<connections).map { _ in
                    try KeylakeClientTransport(
                        configuration: .init(host: "127.0.0.1", port: port, tls: clientFiles, logger: clientLogger))
                }
            },
            services: [diagnostics, health],
            workers: self.concurrency, warmup: self.warmup, duration: self.duration,
            call: Self.rpcCall(method: method, request: request))

        let cpu = Self.cpuName
        print("keylake bench rpc: method=\(method) payload=\(self.payload)B connections=\(connections) concurrency=\(concurrency) duration=\(duration)s warmup=\(warmup)s")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu)")
        print(Measurement.header)
        print(overTransport.row("keylake mTLS"))
        print(grpcInProcess.row("GRPCCore in-process"))
        print(baseline.row("handler in-process"))
        print(String(format: "ratio keylake mTLS / GRPCCore in-process: %.3f", overTransport.callsPerSecond / grpcInProcess.callsPerSecond))
        print(String(format: "ratio keylake mTLS / handler in-process:  %.5f", overTransport.callsPerSecond / baseline.callsPerSecond))
        if overTransport.errors > 0 { throw CLIError("\(overTransport.errors) calls failed over the transport") }
    }

    /// Serves `services` on `server`, runs clients on `clients`, and measures `call` through them
    /// (worker `i` uses client `i % clients.count`).
    static func measureOverGRPC<Server: ServerTransport, Client: ClientTransport>(
        server serverTransport: Server,
        clients makeClients: @Sendable () async throws -> [Client],
        services: [any RegistrableRPCService],
        workers: Int, warmup: Double, duration: Double,
        call: @escaping @Sendable (GRPCClient<Client>) async throws -> Void
    ) async throws -> Measurement {
        let server = GRPCServer(transport: serverTransport, services: services)
        return try await withThrowingTaskGroup(of: Measurement?.self) { group in
            group.addTask {
                try await server.serve()
                return nil
            }
            let clients = try await makeClients().map { GRPCClient(transport: $0) }
            for client in clients {
                group.addTask {
                    try await client.runConnections()
                    return nil
                }
            }
            let measurement = try await Self.measure(workers: workers, warmup: warmup, duration: duration) { worker in
                try await call(clients[worker % clients.count])
            }
            clients.forEach { $0.beginGracefulShutdown() }
            server.beginGracefulShutdown()
            try await group.waitForAll()
            return measurement
        }
    }

    /// The echo or health call the RPC benchmark makes.
    static func rpcCall<Client: ClientTransport>(
        method: String, request: Keylake_Diagnostics_V1_EchoRequest
    ) -> @Sendable (GRPCClient<Client>) async throws -> Void {
        { client in
            if method == "echo" {
                _ = try await Keylake_Diagnostics_V1_Diagnostics.Client(wrapping: client).echo(request)
            } else {
                _ = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init())
            }
        }
    }

    /// Runs `call` in `workers` loops; records latency after `warmup` for `duration` seconds.
    static func measure(
        workers: Int, warmup: Double, duration: Double, _ call: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> Measurement {
        let clock = ContinuousClock()
        let start = clock.now
        let measureFrom = start + .milliseconds(Int64(warmup * 1000))
        let stop = measureFrom + .milliseconds(Int64(duration * 1000))
        return try await withThrowingTaskGroup(of: Measurement.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                    var errors = 0
                    while true {
                        let before = clock.now
                        if before >= stop { break }
                        do { try await call(worker) } catch { errors += 1 }
                        let after = clock.now
                        if before >= measureFrom {
                            let micros = (after - before).components
                            _ = histogram.record(UInt64(max(1, micros.seconds * 1_000_000 + micros.attoseconds / 1_000_000_000_000)))
                        }
                    }
                    return Measurement(histogram: histogram, errors: errors, seconds: duration)
                }
            }
            var total = Measurement(histogram: Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three), errors: 0, seconds: duration)
            for try await part in group {
                total.histogram.add(part.histogram)
                total.errors += part.errors
            }
            return total
        }
    }

    static var cpuName: String {
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first(where: { $0.hasPrefix("model name") })
            .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    }

    struct Measurement: Sendable {
        var histogram: Histogram<UInt64>
        var errors: Int
        var seconds: Double

        var callsPerSecond: Double { Double(self.histogram.totalCount) / self.seconds }

        static let header = "                         calls/s      p50 µs    p99 µs  p99.9 µs   errors"

        func row(_ label: String) -> String {
            String(
                format: "%-21@ %11.0f %11llu %9llu %9llu %8d", label as NSString, self.callsPerSecond,
                self.histogram.valueAtPercentile(50), self.histogram.valueAtPercentile(99),
                self.histogram.valueAtPercentile(99.9), self.errors)
        }
    }
}

import ArgumentParser
import DataStore
import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import SwiftProtobuf
import Synchronization

/// `keylake bench fhir`: FHIR creates, reads or searches against real daemons — kmsd and fhird
/// started as separate processes in a temporary home (or the daemons of `--home`), the client
/// on mTLS — against the same work done in-process in the same run: the same validation,
/// envelope sealing and opening, blind-index tokens and SQLite write with `synchronous=FULL`,
/// with data keys from a key service in this process instead of kmsd over RPC.
struct BenchFHIRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fhir",
        abstract: "Measure FHIR create, read or search through fhird and kmsd against the same work in-process.")

    enum Operation: String, ExpressibleByArgument, CaseIterable {
        case create
        case read
        case search
    }

    enum DatastoreKind: String, ExpressibleByArgument, CaseIterable {
        case service
        case cmk
    }

    enum ResourceSet: String, ExpressibleByArgument, CaseIterable {
        /// Five Synthea resources of their type's median size (0.8-1.6 KB).
        case typical
        /// The three Synthea patients of the demo (3-3.5 KB).
        case patient
    }

    @Option(help: "create, read or search (search: _id of a stored resource, one match).") var op: Operation = .create
    @Option(help: "service (service-owned key) or cmk (customer-managed key over it).") var datastoreKind: DatastoreKind = .cmk
    @Option(help: "typical (Condition, Procedure, MedicationRequest, Encounter, Immunization) or patient.")
    var resources: ResourceSet = .typical
    @Option(help: "Client connections to fhird.") var connections: Int = 1
    @Option(help: "Calls in flight at once.") var concurrency: Int = 64
    @Option(help: "Seconds to measure, after warm-up.") var duration: Double = 10
    @Option(help: "Seconds of warm-up (not measured).") var warmup: Double = 2
    @Option(help: "Resources stored before a read or search run, read or searched at random.") var pool: Int = 1000
    @Option(help: "Use the running daemons of this home instead of starting new ones (identities admin and app).")
    var home: String?
    @Flag(help: "Skip the in-process baseline.") var noBaseline = false

    func validate() throws {
        guard self.connections >= 1, self.concurrency >= self.connections, self.duration > 0, self.warmup >= 0 else {
            throw ValidationError("need connections ≥ 1, concurrency ≥ connections, duration > 0, warm-up ≥ 0")
        }
        guard (1...1_000_000).contains(self.pool) else { throw ValidationError("--pool must be 1 to 1,000,000") }
    }

    var documents: [[UInt8]] {
        switch self.resources {
        case .typical: FHIRCLIBenchResources.typical.map { Array($0.utf8) }
        case .patient: DemoSamplePatients.resources.map { Array($0.utf8) }
        }
    }

    func run() async throws {
        let documents = self.documents
        let meanBytes = documents.reduce(0) { $0 + $1.count } / documents.count
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keylake-bench-fhir-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        // Over RPC: real kmsd and fhird processes.
        let overRPC: BenchRPCCommand.Measurement
        let firstRPCError: String?
        do {
            var daemons: [ChildDaemon] = []
            let home: DevHome
            if let directory = self.home {
                home = try DevHome.open(at: directory)
            } else {
                home = try DevHome.openOrCreate(at: "\(scratch)/home")
                daemons = try await home.startDaemons(
                    executable: ChildDaemon.currentExecutable, extraArguments: ["--log-level", "error"], echo: false,
                    choosePortsAgain: true
                ).daemons
            }
            do {
                (overRPC, firstRPCError) = try await self.measureOverRPC(home: home, documents: documents)
            } catch {
                await Self.stop(daemons)
                throw error
            }
            await Self.stop(daemons)
        }

        // In-process baseline, after the daemons stopped.
        var baseline: BenchRPCCommand.Measurement?
        var firstBaselineError: String?
        var stages: String?
        if !self.noBaseline, self.op != .search {
            (baseline, firstBaselineError, stages) = try await self.measureInProcess(directory: "\(scratch)/baseline", documents: documents)
        }

        let layers = self.datastoreKind == .cmk ? 2 : 1
        print(
            "keylake bench fhir: op=\(self.op.rawValue) datastore-kind=\(self.datastoreKind.rawValue) resources=\(self.resources.rawValue) "
                + "(\(documents.count) Synthea resources, mean \(meanBytes) B) connections=\(self.connections) "
                + "concurrency=\(self.concurrency) duration=\(self.duration)s warmup=\(self.warmup)s")
        print(
            "machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(BenchRPCCommand.cpuName); "
                + (self.home == nil ? "kmsd and fhird started as child processes" : "daemons of \(self.home!)")
                + "; audit trail on, SQLite synchronous=FULL")
        print("key-service calls per \(self.op.rawValue): \(Self.keyServiceCalls(self.op, layers: layers))")
        print(BenchRPCCommand.Measurement.header)
        print(overRPC.row("fhird over mTLS"))
        if let baseline {
            print(baseline.row("in-process baseline"))
            print(String(format: "ratio mTLS / in-process: %.3f", overRPC.callsPerSecond / baseline.callsPerSecond))
            if let stages { print(stages) }
        } else if self.op == .search {
            print("in-process baseline: none for search (measured over mTLS only)")
        } else {
            print("in-process baseline: skipped (--no-baseline)")
        }
        if let firstRPCError { print("first error over mTLS: \(firstRPCError)") }
        if let firstBaselineError { print("first error in-process: \(firstBaselineError)") }
        if overRPC.errors > 0 || (baseline?.errors ?? 0) > 0 {
            throw CLIError("\(overRPC.errors + (baseline?.errors ?? 0)) calls failed")
        }
    }

    /// What one operation asks of the key service, for a datastore with `layers` key layers.
    static func keyServiceCalls(_ op: Operation, layers: Int) -> String {
        switch op {
        case .create: "\(layers) GenerateDataKey (resource) + \(layers) Decrypt (index key, one unwrap shared by the creates waiting for it)"
        case .read: "\(layers) Decrypt (resource)"
        case .search: "\(layers) Decrypt (index key, shared as for creates) + \(layers) Decrypt per match (resource)"
        }
    }

    static func stop(_ daemons: [ChildDaemon]) async {
        for daemon in daemons.reversed() { daemon.terminate() }
        for daemon in daemons where await daemon.waitForExit(timeout: .seconds(20)) == nil {
            daemon.kill()
            _ = await daemon.waitForExit(timeout: .seconds(5))
        }
    }

    typealias HealthLake = Keylake_Healthlake_V1_HealthLakeService.Client<KeylakeClientTransport>

    /// Sets up a datastore in `home` and measures the operation through fhird.
    func measureOverRPC(home: DevHome, documents: [[UInt8]]) async throws -> (BenchRPCCommand.Measurement, String?) {
        let datastoreID = try await self.createDatastore(home: home)
        return try await Self.withClients(self.connections, home: home) { clients in
            let resources = documents.map { Data($0) }
            let errors = FirstError()
            var pool: [(type: String, id: String)] = []
            if self.op != .create {
                pool = try await Self.fill(pool: self.pool, width: self.concurrency) { index in
                    let response = try await clients[index % clients.count].createResource(
                        .with { $0.datastoreID = datastoreID; $0.resource = resources[index % resources.count] }, options: .bench)
                    return (response.resourceType, response.id)
                }
            }
            let next = Atomic<Int>(0)
            let op = self.op
            let stored = pool
            let measurement = try await BenchRPCCommand.measure(workers: self.concurrency, warmup: self.warmup, duration: self.duration) {
                worker in
                let client = clients[worker % clients.count]
                let n = next.add(1, ordering: .relaxed).newValue
                do {
                    // The measured calls' 60 s deadline is enforced by the transport (TransportDeadline),
                    // as fhird's own calls to kmsd are: the load generator shares the two cores
                    // with the daemons, so it does not also pay for GRPCCore's sleeping deadline task.
                    try await TransportDeadline.withTimeout(.seconds(60)) {
                        switch op {
                        case .create:
                            _ = try await client.createResource(
                                .with { $0.datastoreID = datastoreID; $0.resource = resources[n % resources.count] })
                        case .read:
                            let target = stored[Self.scatter(n, stored.count)]
                            _ = try await client.readResource(
                                .with { $0.datastoreID = datastoreID; $0.resourceType = target.type; $0.id = target.id })
                        case .search:
                            let target = stored[Self.scatter(n, stored.count)]
                            let found = try await client.searchResources(
                                .with {
                                    $0.datastoreID = datastoreID
                                    $0.resourceType = target.type
                                    $0.parameters = [.with { $0.name = "_id"; $0.value = target.id }]
                                })
                            guard found.ids == [target.id] else { throw CLIError("search _id=\(target.id) found \(found.ids)") }
                        }
                    }
                } catch {
                    errors.record(error)
                    throw error
                }
            }
            return (measurement, errors.first)
        }
    }

    /// Creates the datastore the run uses, as `app`; for `cmk` first a customer-managed key with
    /// the seed key policy, as `admin`.
    func createDatastore(home: DevHome) async throws -> String {
        var keyARN: String?
        if self.datastoreKind == .cmk {
            keyARN = try await withDemoClient(home, .kmsd, as: "admin") { client in
                let kms = Keylake_Kms_V1_KeyManagementService.Client(wrapping: client)
                let key = try await kms.createKey(.with { $0.description_p = "keylake bench fhir" }, options: .bench).keyMetadata
                _ = try await kms.putKeyPolicy(
                    .with { $0.keyID = key.keyID; $0.policyName = "default"; $0.policy = Demo.keyPolicy }, options: .bench)
                return key.arn
            }
        }
        return try await withDemoClient(home, .fhird, as: "app") { client in
            try await HealthLake(wrapping: client).createFHIRDatastore(
                .with {
                    $0.datastoreName = "bench-\(self.datastoreKind.rawValue)"
                    if let keyARN {
                        $0.sseConfiguration.kmsEncryptionConfig.cmkType = .customerManagedKmsKey
                        $0.sseConfiguration.kmsEncryptionConfig.kmsKeyID = keyARN
                    } else {
                        $0.sseConfiguration.kmsEncryptionConfig.cmkType = .awsOwnedKmsKey
                    }
                }, options: .bench
            ).datastoreID
        }
    }

    /// The same work in-process.
    func measureInProcess(directory: String, documents: [[UInt8]]) async throws -> (BenchRPCCommand.Measurement, String?, String?) {
        let baseline = try await FHIRCLIBenchBaseline(directory: directory, customerManaged: self.datastoreKind == .cmk)
        let errors = FirstError()
        var pool: [(type: FHIRResourceType, id: String)] = []
        if self.op != .create {
            pool = try await Self.fill(pool: self.pool, width: self.concurrency) { index in
                try await baseline.create(documents[index % documents.count])
            }
        }
        let stored = pool
        let next = Atomic<Int>(0)
        let op = self.op
        let before = baseline.stageTotals
        let groupsBefore = baseline.store.groupCommitStatistics
        let measurement = try await BenchRPCCommand.measure(workers: self.concurrency, warmup: self.warmup, duration: self.duration) { _ in
            let n = next.add(1, ordering: .relaxed).newValue
            do {
                switch op {
                case .create:
                    _ = try await baseline.create(documents[n % documents.count])
                case .read:
                    let target = stored[Self.scatter(n, stored.count)]
                    _ = try await baseline.read(type: target.type, id: target.id)
                case .search:
                    throw CLIError("there is no in-process baseline for search")
                }
            } catch {
                errors.record(error)
                throw error
            }
        }
        var stages: String?
        if op == .create {
            let after = baseline.stageTotals
            let creates = max(1, after.creates - before.creates)
            let groups = baseline.store.groupCommitStatistics
            let transactions = max(1, groups.transactions - groupsBefore.transactions)
            stages = (
                String(
                    format: "in-process create, mean per call: parse and validate %.2f ms, data keys + seal + index tokens %.2f ms, group commit %.2f ms",
                    Double(after.parseMicroseconds - before.parseMicroseconds) / Double(creates) / 1000,
                    Double(after.keysMicroseconds - before.keysMicroseconds) / Double(creates) / 1000,
                    Double(after.commitMicroseconds - before.commitMicroseconds) / Double(creates) / 1000)
                    + String(
                        format: "\nin-process resource store: %d group-commit transactions for %d writes (mean group %.1f, largest %d)",
                        transactions, groups.writes - groupsBefore.writes,
                        Double(groups.writes - groupsBefore.writes) / Double(transactions), groups.largestGroup))
        }
        return (measurement, errors.first, stages)
    }

    /// Spreads consecutive call numbers over the pool.
    static func scatter(_ n: Int, _ count: Int) -> Int {
        (n &* 7919) % count
    }

    /// Makes `count` things with `width` calls in flight; returns them in order.
    static func fill<T: Sendable>(pool count: Int, width: Int, _ make: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: [(Int, T)].self) { group in
            for lane in 0..<min(width, count) {
                group.addTask {
                    var made: [(Int, T)] = []
                    for index in stride(from: lane, to: count, by: width) { made.append((index, try await make(index))) }
                    return made
                }
            }
            var results = [T?](repeating: nil, count: count)
            for try await lane in group {
                for (index, value) in lane { results[index] = value }
            }
            return results.map { $0! }
        }
    }

    /// Runs `body` with `count` HealthLake clients as `app`, each on its own connection.
    static func withClients<T: Sendable>(_ count: Int, home: DevHome, _ body: ([HealthLake]) async throws -> T) async throws -> T {
        guard count > 0 else { return try await body([]) }
        return try await withDemoClient(home, .fhird, as: "app") { client in
            try await Self.withClients(count - 1, home: home) { rest in
                try await body([HealthLake(wrapping: client)] + rest)
            }
        }
    }

    /// The first failure of a run, for the report (error name and message; never resource content).
    final class FirstError: Sendable {
        private let value = Mutex<String?>(nil)
        func record(_ error: any Error) {
            let text: String
            if let error = error as? RPCError {
                let failure = FHIRCLIFailure(error)
                text = "\(failure.name): \(failure.message)"
            } else {
                text = "\(error)"
            }
            self.value.withLock { if $0 == nil { $0 = String(text.prefix(500)) } }
        }
        var first: String? { self.value.withLock { $0 } }
    }
}

extension CallOptions {
    /// Benchmark calls: a generous deadline, so a loaded machine shows up as latency, not errors.
    static var bench: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(60)
        return options
    }
}

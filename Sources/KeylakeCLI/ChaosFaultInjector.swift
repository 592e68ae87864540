import GRPCCore
import KeylakeChaos
import KeylakeFaultProxy
import KeylakeProto
import KeylakeTransport
import SwiftProtobuf

/// Injects and heals a scenario's fault through the real paths: key-service calls as the right
/// principals, SIGKILL and restart of a child daemon, toxics of the fault proxy.
struct ChaosFaultInjector: Sendable {
    typealias KMS = Keylake_Kms_V1_KeyManagementService.Client<KeylakeClientTransport>

    var scenario: ChaosScenario
    var deployment: ChaosDeployment
    /// The account root (key administrator).
    var admin: KMS
    /// The data service's own identity: the grant's retiring principal.
    var dataService: KMS
    var keyID: String
    var grantID: String

    /// Makes the fault happen; returns once it is in force.
    func inject() async throws {
        switch self.scenario {
        case .revokeGrant:
            _ = try await self.admin.revokeGrant(.with { $0.keyID = self.keyID; $0.grantID = self.grantID }, options: .cli)
        case .retireGrant:
            _ = try await self.dataService.retireGrant(.with { $0.keyID = self.keyID; $0.grantID = self.grantID }, options: .cli)
        case .disableKey:
            _ = try await self.admin.disableKey(.with { $0.keyID = self.keyID }, options: .cli)
        case .scheduleDeletion:
            _ = try await self.admin.scheduleKeyDeletion(.with { $0.keyID = self.keyID; $0.pendingWindowInDays = 7 }, options: .cli)
        case .killKMS:
            try await self.deployment.kill(.kmsd)
        case .killData:
            try await self.deployment.kill(.fhird)
        case .partition:
            try await self.requireProxy().down()
        case .latency:
            try self.requireProxy().addToxic(
                Toxic(name: "chaos-latency", kind: .latency(latency: .milliseconds(250), jitter: .milliseconds(100)), direction: .both))
        case .reset:
            try self.requireProxy().addToxic(Toxic(name: "chaos-reset", kind: .resetPeer(after: .zero), direction: .both))
        case .blackhole:
            try self.requireProxy().addToxic(Toxic(name: "chaos-blackhole", kind: .timeout(.zero), direction: .both))
        case .slow:
            let proxy = try self.requireProxy()
            try proxy.addToxic(Toxic(name: "chaos-bandwidth", kind: .bandwidth(bytesPerSecond: 32 * 1024), direction: .both))
            try proxy.addToxic(
                Toxic(name: "chaos-slicer", kind: .slicer(averageSize: 64, sizeVariation: 32, delay: .milliseconds(1)), direction: .both))
        }
    }

    /// Ends a reversible fault: the key enabled again, the daemon restarted on the same home and
    /// ports, the link healed. Returns once that is done (a restarted daemon is ready).
    func heal() async throws {
        switch self.scenario {
        case .revokeGrant, .retireGrant:
            throw CLIError("\(self.scenario.rawValue) is not healed: a new grant is the customer's decision")
        case .disableKey:
            _ = try await self.admin.enableKey(.with { $0.keyID = self.keyID }, options: .cli)
        case .scheduleDeletion:
            _ = try await self.admin.cancelKeyDeletion(.with { $0.keyID = self.keyID }, options: .cli)
            _ = try await self.admin.enableKey(.with { $0.keyID = self.keyID }, options: .cli)
        case .killKMS:
            try await self.deployment.start(.kmsd)
        case .killData:
            try await self.deployment.start(.fhird)
        case .partition:
            try await self.requireProxy().up()
        case .latency, .reset, .blackhole, .slow:
            try self.requireProxy().removeAllToxics()
        }
    }

    private func requireProxy() throws -> FaultProxy {
        guard let proxy = self.deployment.proxy else {
            throw CLIError("\(self.scenario.rawValue) needs the fault proxy between fhird and kmsd (managed mode)")
        }
        return proxy
    }
}

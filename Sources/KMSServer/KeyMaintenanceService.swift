public import KMS
public import Logging
public import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs kmsd's scheduled work: automatic rotation of keys that are due, and the deletion sweep
/// that destroys the material of keys whose waiting period has ended (crypto-shredding).
public struct KeyMaintenanceService: Service {
    private let keys: KeyService
    private let interval: Duration
    private let logger: Logger

    public init(keys: KeyService, interval: Duration, logger: Logger) {
        self.keys = keys
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    await self.runOnce(now: Date())
                    try await Task.sleep(for: self.interval)
                }
            }
        } catch is CancellationError {
            // Shutdown.
        }
    }

    /// One round of maintenance; failures are logged and retried next round.
    public func runOnce(now: Date) async {
        do {
            let rotated = try await self.keys.rotateDueKeys(now: now)
            if !rotated.isEmpty { self.logger.info("rotated keys", metadata: ["count": "\(rotated.count)"]) }
            let deleted = try await self.keys.sweepExpiredDeletions(now: now)
            for key in deleted { self.logger.notice("key deleted; its material is destroyed", metadata: ["keyId": "\(key)"]) }
        } catch {
            self.logger.error("key maintenance failed", metadata: ["error": "\(error)"])
        }
    }
}

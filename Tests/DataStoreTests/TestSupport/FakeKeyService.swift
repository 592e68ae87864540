import Crypto
import Foundation
import Synchronization

@testable import DataStore

/// An in-memory stand-in for kmsd: wraps data keys under a per-layer master key, bound to the
/// key id and the encryption context (as kmsd binds its blobs), counts calls and the largest
/// number of calls in flight at once, and can be told to refuse a layer (a revoked grant).
final class FakeKeyService: DataKeyProvider {
    struct State {
        var generateCalls = 0
        var decryptCalls = 0
        var inFlight = 0
        var maximumInFlight = 0
        var arrivals = 0
        var refused: Set<KeyLayer> = []
    }

    struct Refused: Error, CustomStringConvertible {
        var layer: KeyLayer
        var description: String { "AccessDeniedException: the grant for the \(self.layer) key was revoked" }
    }

    struct BadBlob: Error {}

    let state = Mutex(State())
    let masters: [KeyLayer: SendableKey] = [
        .serviceOwned: SendableKey(key: SymmetricKey(size: .bits256)),
        .customerManaged: SendableKey(key: SymmetricKey(size: .bits256)),
    ]
    let keyIDs: [KeyLayer: String] = [
        .serviceOwned: "arn:aws:kms:us-east-1:111122223333:key/service-owned",
        .customerManaged: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ]
    /// When above zero, calls meet in groups of this many: each waits until the rest of its group
    /// has arrived (at most `meetingTimeout`), so calls made concurrently are seen in flight
    /// together however late a loaded machine starts them, and calls made one after another are
    /// not (the first of each group waits in vain).
    let meetInGroupsOf: Int
    /// How long a call waits for its group: long, so only calls that are never made concurrently
    /// run out of it.
    let meetingTimeout: Duration

    init(meetInGroupsOf: Int = 0, meetingTimeout: Duration = .seconds(60)) {
        self.meetInGroupsOf = meetInGroupsOf
        self.meetingTimeout = meetingTimeout
    }

    func refuse(_ layer: KeyLayer) { self.state.withLock { _ = $0.refused.insert(layer) } }
    func allow(_ layer: KeyLayer) { self.state.withLock { _ = $0.refused.remove(layer) } }
    var snapshot: State { self.state.withLock { $0 } }

    private func additionalData(_ keyID: String, _ context: EncryptionContext) -> [UInt8] {
        var bytes = Array(keyID.utf8) + [0]
        for (key, value) in context.keyServicePairs.sorted(by: { $0.key < $1.key }) {
            bytes += Array(key.utf8) + [0] + Array(value.utf8) + [0]
        }
        return bytes
    }

    private func enter(_ layer: KeyLayer, decrypt: Bool) async throws {
        let (refused, arrival) = self.state.withLock { state in
            if decrypt { state.decryptCalls += 1 } else { state.generateCalls += 1 }
            state.inFlight += 1
            state.maximumInFlight = max(state.maximumInFlight, state.inFlight)
            state.arrivals += 1
            return (state.refused.contains(layer), state.arrivals)
        }
        if self.meetInGroupsOf > 0 {
            // The group of the `arrival`th call is complete once the last of its members arrived.
            let complete = ((arrival - 1) / self.meetInGroupsOf + 1) * self.meetInGroupsOf
            let deadline = ContinuousClock.now + self.meetingTimeout
            while self.state.withLock({ $0.arrivals }) < complete, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
        self.state.withLock { $0.inFlight -= 1 }
        if refused { throw Refused(layer: layer) }
    }

    func generateDataKey(layer: KeyLayer, context: EncryptionContext) async throws -> DataKey {
        try await self.enter(layer, decrypt: false)
        let keyID = self.keyIDs[layer]!
        var plaintext = Array(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
        let box = try AES.GCM.seal(plaintext, using: self.masters[layer]!.key, authenticating: self.additionalData(keyID, context))
        return try DataKey(layer: layer, keyID: keyID, wrapped: Array(box.combined!), plaintext: &plaintext)
    }

    func decryptDataKey(layer: KeyLayer, keyID: String, wrapped: [UInt8], context: EncryptionContext) async throws -> [UInt8] {
        try await self.enter(layer, decrypt: true)
        guard keyID == self.keyIDs[layer] else { throw BadBlob() }
        let box = try AES.GCM.SealedBox(combined: wrapped)
        return Array(try AES.GCM.open(box, using: self.masters[layer]!.key, authenticating: self.additionalData(keyID, context)))
    }
}

import Foundation

/// One completed rotation of a key's material, as `ListKeyRotations` reports it.
public struct KeyRotation: Hashable, Sendable {
    /// How the rotation was started.
    public enum RotationType: String, Hashable, Sendable {
        /// By the rotation schedule.
        case automatic = "AUTOMATIC"
        /// By `RotateKeyOnDemand`.
        case onDemand = "ON_DEMAND"
    }

    /// The key.
    public var keyID: KeyID
    /// The material version the rotation created.
    public var materialVersion: UInt32
    /// When it happened.
    public var rotationDate: Date
    /// Scheduled or on demand.
    public var rotationType: RotationType
}

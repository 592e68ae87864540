import Foundation

/// The result of `GetKeyRotationStatus`.
public struct KeyRotationStatus: Hashable, Sendable {
    /// The key's ARN.
    public var keyARN: String
    /// Whether automatic rotation is on (always `false` while the key is pending deletion).
    public var keyRotationEnabled: Bool
    /// The period, when rotation is on.
    public var rotationPeriodInDays: Int?
    /// When the key will next rotate, when rotation is on.
    public var nextRotationDate: Date?
}

/// The result of `ScheduleKeyDeletion`.
public struct KeyDeletionSchedule: Hashable, Sendable {
    /// The key's ARN.
    public var keyARN: String
    /// When the key and its material will be destroyed.
    public var deletionDate: Date
    /// `PendingDeletion`.
    public var keyState: KeyState
    /// The waiting period.
    public var pendingWindowInDays: Int
}

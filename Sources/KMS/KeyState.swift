/// The lifecycle state of a key, as in AWS KMS.
public enum KeyState: String, Hashable, Sendable, CaseIterable {
    /// Usable for every operation its policy and grants allow.
    case enabled = "Enabled"
    /// Cryptographic operations fail with `DisabledException` until it is enabled again.
    case disabled = "Disabled"
    /// Scheduled for deletion; cryptographic operations fail with `KMSInvalidStateException`.
    case pendingDeletion = "PendingDeletion"
}

/// What ``KeyStore/rotateRootKey(path:from:to:)`` moved to the new root key.
public struct RootKeyRotationSummary: Hashable, Sendable {
    /// Key material versions re-wrapped.
    public var materialVersions: Int
    /// Audit events re-sealed (their chain hashes do not depend on the key and are unchanged).
    public var auditEvents: Int
}

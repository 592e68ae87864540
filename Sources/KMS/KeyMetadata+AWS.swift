extension KeyMetadata {
    /// `KeyManager`: `CUSTOMER` for customer-managed keys, `AWS` for service-owned ones.
    public var keyManager: String { self.kind == .customerManaged ? "CUSTOMER" : "AWS" }
    /// `KeySpec`: always `SYMMETRIC_DEFAULT`.
    public var keySpec: String { "SYMMETRIC_DEFAULT" }
    /// `KeyUsage`: always `ENCRYPT_DECRYPT`.
    public var keyUsage: String { "ENCRYPT_DECRYPT" }
    /// `Origin`: always `AWS_KMS` (material is generated here).
    public var origin: String { "AWS_KMS" }
    /// `EncryptionAlgorithms`: always `["SYMMETRIC_DEFAULT"]`.
    public var encryptionAlgorithms: [String] { ["SYMMETRIC_DEFAULT"] }
    /// `Enabled`: whether the key is in the `Enabled` state.
    public var isEnabled: Bool { self.state == .enabled }
}

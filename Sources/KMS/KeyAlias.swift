import Foundation

/// An alias: a friendly name (`alias/…`) that stands for a key wherever a `KeyId` is accepted.
public struct KeyAlias: Hashable, Sendable {
    /// The name, including the `alias/` prefix.
    public var aliasName: String
    /// The key it points at.
    public var targetKeyID: KeyID
    /// When it was created.
    public var creationDate: Date
    /// When it was last pointed at a key.
    public var lastUpdatedDate: Date
}

/// A key policy: the JSON document a key owner writes, and its parsed statements.
///
/// The document is kept verbatim, because `GetKeyPolicy` returns what `PutKeyPolicy` stored.
/// Parse with ``init(parsing:limits:)``; evaluate with ``PolicyEvaluator``.
public struct KeyPolicy: Hashable, Sendable {
    /// The policy name AWS KMS uses for every key's only policy.
    public static let defaultName = "default"

    /// The document as the owner wrote it.
    public let document: String
    /// The `Version` element, if present (`2012-10-17` or `2008-10-17`).
    public let version: String?
    /// The `Id` element, if present.
    public let id: String?
    /// The statements, in document order.
    public let statements: [PolicyStatement]

    init(document: String, version: String?, id: String?, statements: [PolicyStatement]) {
        self.document = document
        self.version = version
        self.id = id
        self.statements = statements
    }
}

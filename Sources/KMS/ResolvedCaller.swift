/// The caller a request is authorised as, after the on-behalf-of rule is applied.
struct ResolvedCaller: Hashable, Sendable {
    /// The effective principal: the end user when a registered service acts for one, else the
    /// certificate's principal.
    var principal: String
    /// The certificate's principal.
    var peer: String
    /// The registered service that acts for ``principal`` (`kms:ViaService`, audit `invokedBy`).
    var viaService: String?
    /// Whether a registered service calls for itself: it may own service-owned keys.
    var isServiceActingForItself: Bool

    /// Whether this caller may see and use a service-owned key: only its service, calling for
    /// itself. A service acting on a user's behalf does not bring the user to its own keys.
    func owns(_ key: KeyMetadata) -> Bool {
        self.isServiceActingForItself && key.ownerService == self.peer
    }

    /// The caller's account, `nil` for a service principal.
    var account: String? { AccountID.of(principal: self.principal) }

    /// The audit `userIdentity` block.
    var userIdentity: AuditJSON {
        if self.isServiceActingForItself {
            return ["type": "AWSService", "invokedBy": .string(self.peer)]
        }
        var identity: [String: AuditJSON] = [
            "type": .string(Self.identityType(of: self.principal)),
            "principalId": .string(self.principal),
            "arn": .string(self.principal),
            "accountId": .optional(self.account),
        ]
        if let viaService { identity["invokedBy"] = .string(viaService) }
        return .object(identity)
    }

    /// CloudTrail's `userIdentity.type` for a principal ARN.
    static func identityType(of principal: String) -> String {
        guard let arn = ParsedARN(principal) else { return "Unknown" }
        if arn.resource == "root" { return "Root" }
        if arn.resource.hasPrefix("user/") { return "IAMUser" }
        if arn.resource.hasPrefix("role/") || arn.resource.hasPrefix("assumed-role/") { return "AssumedRole" }
        return "Unknown"
    }
}

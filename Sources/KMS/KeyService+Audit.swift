extension KeyService {
    /// `LookupEvents`: audit events the caller may see, newest first.
    ///
    /// Customers need `cloudtrail:LookupEvents` in the account policy and never see events about
    /// service-owned keys; a registered service calling for itself sees only the events about its
    /// own service-owned keys. The lookup itself is audited.
    ///
    /// - Throws: ``KMSError`` `AccessDeniedException`, `ValidationException` (maxResults),
    ///   `InvalidMarkerException` (nextToken).
    public func lookupEvents(
        _ filter: AuditLookupFilter = AuditLookupFilter(),
        maxResults: Int? = nil,
        nextToken: String? = nil,
        caller context: CallerContext
    ) async throws -> AuditLookupPage {
        var parameters: [String: AuditJSON] = [:]
        if let name = filter.eventName { parameters["eventName"] = .string(self.clipped(name)) }
        if let keyID = filter.keyID { parameters["keyId"] = .string(keyID.description) }
        if let principal = filter.principal { parameters["principal"] = .string(self.clipped(principal)) }
        return try await self.perform(.lookupEvents, context, requestParameters: parameters) { db, caller, _ in
            let size = try self.pageSize(maxResults)
            let audience: AuditTrail.Audience
            if caller.isServiceActingForItself {
                audience = .service(caller.peer)
            } else {
                try self.authorizeAccountAction(KMSOperation.lookupEvents.action, caller: caller)
                audience = .customer
            }
            return try self.auditTrail.lookupEvents(db, filter, audience: audience, maxResults: size, nextToken: nextToken)
        }
    }
}

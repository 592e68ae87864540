/// Who is calling and from where: what the RPC layer knows about one request.
///
/// ``principal`` is the identity proven by the client certificate and is trusted. ``onBehalfOf``
/// is only a claim: ``KeyService`` honours it when ``principal`` is one of the configured
/// ``KeyServiceConfiguration/servicePrincipals``, and refuses the request
/// (`AccessDeniedException`, audited) when anyone else sends it.
public struct CallerContext: Hashable, Sendable {
    /// The verified principal from the client certificate, e.g.
    /// `arn:aws:iam::111122223333:role/Admin` or `healthlake.amazonaws.com`.
    public var principal: String
    /// The end user a registered service says it acts for; `nil` for a direct call.
    public var onBehalfOf: String?
    /// The request id, echoed into the audit event.
    public var requestID: String
    /// The peer address, for the audit event only.
    public var sourceIPAddress: String
    /// The client's user agent, for the audit event only.
    public var userAgent: String

    /// Creates a caller context.
    public init(
        principal: String,
        onBehalfOf: String? = nil,
        requestID: String,
        sourceIPAddress: String = "",
        userAgent: String = ""
    ) {
        self.principal = principal
        self.onBehalfOf = onBehalfOf
        self.requestID = requestID
        self.sourceIPAddress = sourceIPAddress
        self.userAgent = userAgent
    }
}

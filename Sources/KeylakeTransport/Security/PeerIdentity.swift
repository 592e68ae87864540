public import GRPCCore

/// Who is calling, as the server transport established it. Service code finds it in
/// `ServerContext.transportSpecific` (see ``GRPCCore/ServerContext/peerIdentity``).
public struct PeerIdentity: ServerContext.TransportSpecific, Hashable {
    /// The caller's principal: the first URI SAN of its verified client certificate.
    public var principal: String
    /// The principal the caller claims to act for (`RequestHeaders.on_behalf_of`); not verified by
    /// the transport. Whether to honour it is the service's decision.
    public var onBehalfOf: String?
    /// The call's correlation id (the client's, or one the server made).
    public var requestID: String
    /// W3C `traceparent`, if the client sent one.
    public var traceparent: String?
    /// The client's IP address, for audit records.
    public var remoteAddress: String?
    /// The `agent` the client named in its HELLO, for audit records (not verified).
    public var userAgent: String?

    public init(
        principal: String, onBehalfOf: String? = nil, requestID: String, traceparent: String? = nil,
        remoteAddress: String? = nil, userAgent: String? = nil
    ) {
        self.principal = principal
        self.onBehalfOf = onBehalfOf
        self.requestID = requestID
        self.traceparent = traceparent
        self.remoteAddress = remoteAddress
        self.userAgent = userAgent
    }
}

extension ServerContext {
    /// The verified identity of the caller, when the call came through the Keylake transport.
    public var peerIdentity: PeerIdentity? {
        self.transportSpecific as? PeerIdentity
    }
}

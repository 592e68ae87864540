public import NIOCore

extension SocketAddress {
    /// "host:port" ("[::1]:port" for IPv6), as printed in readiness lines and home files.
    public var hostAndPort: String {
        let host = self.ipAddress ?? "unknown"
        let port = self.port.map(String.init) ?? "0"
        if case .v6 = self { return "[\(host)]:\(port)" }
        return "\(host):\(port)"
    }
}

/// A `HOST:PORT` address as given to `keylake chaos proxy` (`[::1]:PORT` for IPv6).
public struct ProxyAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address, without brackets.
    public var host: String
    /// Port, 0...65535 (0 only where a free port may be picked).
    public var port: Int

    /// An address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `[IPV6]:PORT`.
    ///
    /// - Throws: ``FaultProxyError`` `invalidAddress` naming what is wrong.
    public init(parsing text: String) throws {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw FaultProxyError(.invalidAddress, "'\(text)' is not [IPV6]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw FaultProxyError(.invalidAddress, "'\(text)' is not HOST:PORT")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw FaultProxyError(.invalidAddress, "'\(text)' has no host") }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw FaultProxyError(.invalidAddress, "'\(text)': port must be a number from 0 to 65535")
        }
        self.init(host: String(host), port: port)
    }

    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }
}

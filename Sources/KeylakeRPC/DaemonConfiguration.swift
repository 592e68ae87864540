public import KeylakeTransport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A daemon's configuration file (JSON). Every field has a documented default except the TLS files.
///
/// ```json
/// { "listen": { "host": "127.0.0.1", "port": 7301 },
///   "tls": { "certificate": "pki/kmsd.pem", "privateKey": "pki/kmsd-key.pem", "trustRoots": "pki/ca.pem" },
///   "dataDirectory": "data/kmsd",
///   "limits": { "maxConcurrentStreams": 1024 } }
/// ```
/// Relative paths are resolved against the directory holding the file.
public struct DaemonConfiguration: Codable, Sendable, Hashable {
    public struct Listen: Codable, Sendable, Hashable {
        public var host: String
        public var port: Int
        public init(host: String = "127.0.0.1", port: Int) {
            self.host = host
            self.port = port
        }
    }

    public struct TLS: Codable, Sendable, Hashable {
        public var certificate: String
        public var privateKey: String
        public var trustRoots: String
        public init(certificate: String, privateKey: String, trustRoots: String) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.trustRoots = trustRoots
        }
    }

    /// Optional overrides of ``ServerLimits``; absent fields keep the defaults.
    public struct Limits: Codable, Sendable, Hashable {
        public var maxFrameSize: Int?
        public var maxConcurrentStreams: Int?
        public var maxHeaderBytes: Int?
        public var maxInboundBytesPerStream: Int?
        public var tlsHandshakeTimeoutMilliseconds: Int?
        public var helloTimeoutMilliseconds: Int?
        public var idleTimeoutMilliseconds: Int?
        public var maxConnections: Int?
        public var maxPingsPerMinute: Int?
        public var shutdownGracePeriodMilliseconds: Int?
        public init() {}
    }

    public var listen: Listen
    public var tls: TLS
    public var dataDirectory: String?
    public var limits: Limits?

    public init(listen: Listen, tls: TLS, dataDirectory: String? = nil, limits: Limits? = nil) {
        self.listen = listen
        self.tls = tls
        self.dataDirectory = dataDirectory
        self.limits = limits
    }

    /// The largest configuration file read: 1 MiB (a real one is well under 2 KiB).
    public static let maximumFileBytes = 1 << 20

    /// Parses a configuration file's bytes (no paths resolved).
    ///
    /// - Throws: ``TransportError`` with `.invalidConfiguration` naming `name` and the problem.
    public static func parse(_ data: Data, name: String) throws -> DaemonConfiguration {
        do {
            return try JSONDecoder().decode(DaemonConfiguration.self, from: data)
        } catch {
            throw TransportError(.invalidConfiguration, "configuration file \(name) is not valid: \(ConfigurationErrorText.describe(error))")
        }
    }

    /// Reads a configuration file, resolving relative paths against its directory.
    ///
    /// - Throws: ``TransportError`` with `.invalidConfiguration` naming the file and the problem.
    public static func load(from path: String) throws -> DaemonConfiguration {
        let data: Data
        do {
            data = Data(try InputFile.read(path, what: "configuration file", maximumBytes: Self.maximumFileBytes))
        } catch {
            throw TransportError(.invalidConfiguration, "\(error)")
        }
        var configuration = try Self.parse(data, name: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ value: String) -> String {
            value.hasPrefix("/") ? value : base.appendingPathComponent(value).path
        }
        configuration.tls.certificate = resolve(configuration.tls.certificate)
        configuration.tls.privateKey = resolve(configuration.tls.privateKey)
        configuration.tls.trustRoots = resolve(configuration.tls.trustRoots)
        configuration.dataDirectory = configuration.dataDirectory.map(resolve)
        return configuration
    }

    /// The TLS files as the transport wants them.
    public var tlsFiles: TLSFiles {
        TLSFiles(certificateChain: self.tls.certificate, privateKey: self.tls.privateKey, trustRoots: self.tls.trustRoots)
    }

    /// The server limits: defaults with this file's overrides applied.
    public var serverLimits: ServerLimits {
        var limits = ServerLimits()
        guard let overrides = self.limits else { return limits }
        if let value = overrides.maxFrameSize { limits.maxFrameSize = value }
        if let value = overrides.maxConcurrentStreams { limits.maxConcurrentStreams = value }
        if let value = overrides.maxHeaderBytes { limits.maxHeaderBytes = value }
        if let value = overrides.maxInboundBytesPerStream { limits.maxInboundBytesPerStream = value }
        if let value = overrides.tlsHandshakeTimeoutMilliseconds { limits.tlsHandshakeTimeout = .milliseconds(value) }
        if let value = overrides.helloTimeoutMilliseconds { limits.helloTimeout = .milliseconds(value) }
        if let value = overrides.idleTimeoutMilliseconds { limits.idleTimeout = .milliseconds(value) }
        if let value = overrides.maxConnections { limits.maxConnections = value }
        if let value = overrides.maxPingsPerMinute { limits.maxPingsPerMinute = value }
        if let value = overrides.shutdownGracePeriodMilliseconds { limits.shutdownGracePeriod = .milliseconds(value) }
        return limits
    }
}

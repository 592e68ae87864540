public import NIOSSL

/// Where a daemon or client finds its TLS material: PEM files only.
public struct TLSFiles: Sendable, Hashable {
    /// PEM file with this side's certificate (and any intermediates after it).
    public var certificateChain: String
    /// PEM file with this side's private key; should have mode 0600.
    public var privateKey: String
    /// PEM file with the CA certificates that peers' certificates must chain to.
    public var trustRoots: String

    public init(certificateChain: String, privateKey: String, trustRoots: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.trustRoots = trustRoots
    }

    /// A server configuration: TLS 1.3 only, client certificate required and verified against
    /// ``trustRoots``, ALPN `keylake/1`.
    ///
    /// - Throws: `TransportError` naming the file that could not be read.
    public func serverConfiguration() throws -> TLSConfiguration {
        let (chain, key, roots) = try self.load()
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv13
        // Client certificates name principals, not hosts: verify the chain, not a host name.
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates(roots)
        configuration.applicationProtocols = [WireProtocol.alpn]
        return configuration
    }

    /// A client configuration: TLS 1.3 only, server certificate verified against ``trustRoots``
    /// including its host name, this side's certificate presented, ALPN `keylake/1`.
    public func clientConfiguration() throws -> TLSConfiguration {
        let (chain, key, roots) = try self.load()
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv13
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = .certificates(roots)
        configuration.certificateChain = chain.map { .certificate($0) }
        configuration.privateKey = .privateKey(key)
        configuration.applicationProtocols = [WireProtocol.alpn]
        return configuration
    }

    private func load() throws -> ([NIOSSLCertificate], NIOSSLPrivateKey, [NIOSSLCertificate]) {
        func read<T>(_ path: String, _ what: String, _ body: () throws -> T) throws -> T {
            do { return try body() } catch {
                throw TransportError(.invalidConfiguration, "cannot read \(what) from \(path): \(error)")
            }
        }
        let chain = try read(self.certificateChain, "certificate chain") {
            try NIOSSLCertificate.fromPEMFile(self.certificateChain)
        }
        let key = try read(self.privateKey, "private key") {
            try NIOSSLPrivateKey(file: self.privateKey, format: .pem)
        }
        let roots = try read(self.trustRoots, "trust roots") {
            try NIOSSLCertificate.fromPEMFile(self.trustRoots)
        }
        guard !chain.isEmpty else {
            throw TransportError(.invalidConfiguration, "no certificate in \(self.certificateChain)")
        }
        guard !roots.isEmpty else {
            throw TransportError(.invalidConfiguration, "no CA certificate in \(self.trustRoots)")
        }
        return (chain, key, roots)
    }
}

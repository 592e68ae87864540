import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One readable line for why a connection could not be made: the cause a person can act on
/// ("connection refused", "permission denied", "TLS handshake failed: …", "timed out"),
/// instead of the nested description of NIO's error types.
enum ConnectionFailure {
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            let causes = error.connectionErrors.map { Self.describe($0.error) }
            if let first = causes.first {
                return Set(causes).count == 1 ? first : causes.joined(separator: "; ")
            }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve \(error.host): \(dns)" }
            return "no address for \(error.host)"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        case ChannelError.connectTimeout(let timeout):
            return "timed out after \(timeout.nanoseconds / 1_000_000) ms"
        case let error as NIOSSLError:
            return "TLS handshake failed: \(error)"
        case let error as BoringSSLError:
            return "TLS handshake failed: \(error)"
        default:
            return "\(error)"
        }
    }
}

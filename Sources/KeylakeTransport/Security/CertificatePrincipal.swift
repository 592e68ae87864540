import SwiftASN1
import X509

/// Extracts a principal from a verified certificate.
package enum CertificatePrincipal {
    /// The first URI subject alternative name of a DER-encoded certificate, or nil if it has none
    /// or cannot be parsed (the connection is then refused: fail closed).
    package static func principal(fromDER der: [UInt8]) -> String? {
        guard let certificate = try? Certificate(derEncoded: der),
            let names = try? certificate.extensions.subjectAlternativeNames
        else { return nil }
        for name in names {
            if case .uniformResourceIdentifier(let uri) = name, !uri.isEmpty {
                return uri
            }
        }
        return nil
    }
}

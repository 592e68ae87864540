import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Input checks and name derivation shared by ``CertificateAuthority`` and ``DevPKI``.
enum Validation {
    /// Throws `invalidPrincipal` unless `principal` is non-empty printable ASCII without whitespace.
    ///
    /// ASCII is required because a URI SAN is an `IA5String`; whitespace and control characters are refused
    /// because a principal is compared verbatim and such characters are almost always a copy-and-paste accident.
    static func checkPrincipal(_ principal: String) throws {
        if principal.isEmpty {
            throw DevPKIError.invalidPrincipal("a principal must not be empty")
        }
        for scalar in principal.unicodeScalars {
            if scalar.properties.isWhitespace || scalar.properties.generalCategory == .control {
                throw DevPKIError.invalidPrincipal(
                    "principal \(String(reflecting: principal)) contains whitespace or a control character "
                        + "(U+\(String(scalar.value, radix: 16, uppercase: true)))"
                )
            }
            if !scalar.isASCII {
                throw DevPKIError.invalidPrincipal(
                    "principal \(String(reflecting: principal)) contains the non-ASCII character "
                        + "U+\(String(scalar.value, radix: 16, uppercase: true)); a URI SAN must be ASCII"
                )
            }
        }
    }

    /// Throws `invalidIdentitySpec` unless `name` is non-empty and free of control characters.
    static func checkName(_ name: String) throws {
        if name.isEmpty {
            throw DevPKIError.invalidIdentitySpec("an identity name must not be empty")
        }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw DevPKIError.invalidIdentitySpec(
                "identity name \(String(reflecting: name)) contains a control character"
            )
        }
    }

    /// Throws `invalidIdentitySpec` unless `dnsName` is non-empty printable ASCII without whitespace.
    static func checkDNSName(_ dnsName: String) throws {
        let valid =
            !dnsName.isEmpty
            && dnsName.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && !scalar.properties.isWhitespace && scalar.properties.generalCategory != .control
            }
        if !valid {
            throw DevPKIError.invalidIdentitySpec("\(String(reflecting: dnsName)) is not a valid DNS name")
        }
    }

    /// The network-order bytes of an IPv4 (4 bytes) or IPv6 (16 bytes) address in textual form.
    static func ipAddressBytes(_ text: String) throws -> [UInt8] {
        if text.contains(":") {
            var address = in6_addr()
            if inet_pton(AF_INET6, text, &address) == 1 {
                return withUnsafeBytes(of: &address) { Array($0) }
            }
        } else {
            var address = in_addr()
            if inet_pton(AF_INET, text, &address) == 1 {
                return withUnsafeBytes(of: &address) { Array($0) }
            }
        }
        throw DevPKIError.invalidIdentitySpec("\(String(reflecting: text)) is not an IPv4 or IPv6 address")
    }

    /// The file stem derived from a principal: the text after its final `/` (or, failing that, its final `:`),
    /// lower-cased, with every character outside `[a-z0-9-]` replaced by `-`.
    ///
    /// Returns `"identity"` if nothing is left (a principal ending in `/`).
    static func baseName(forPrincipal principal: String) -> String {
        let tail: Substring
        if let slash = principal.lastIndex(of: "/") {
            tail = principal[principal.index(after: slash)...]
        } else if let colon = principal.lastIndex(of: ":") {
            tail = principal[principal.index(after: colon)...]
        } else {
            tail = principal[...]
        }
        var result = ""
        for scalar in tail.lowercased().unicodeScalars {
            switch scalar {
            case "a"..."z", "0"..."9", "-":
                result.unicodeScalars.append(scalar)
            default:
                result.append("-")
            }
        }
        return result.isEmpty ? "identity" : result
    }
}

/// Hands out identity names that do not collide with each other or with the fixed files of a home.
///
/// A name is taken if the name itself is taken, or if either of its files (`<name>.pem`, `<name>-key.pem`)
/// would coincide with a file that is already claimed, such as `ca.pem` or another identity's key file.
struct NameAllocator {
    private var names: Set<String> = []
    private var files: Set<String> = [DevPKI.caCertificateFileName, DevPKI.caPrivateKeyFileName]

    /// Creates an allocator that already knows `existing` names.
    init(existing: some Sequence<String>) {
        for name in existing {
            self.claim(name)
        }
    }

    /// Whether `name` can be used without any collision.
    func isAvailable(_ name: String) -> Bool {
        !self.names.contains(name)
            && !self.files.contains(DevPKI.certificateFileName(for: name))
            && !self.files.contains(DevPKI.privateKeyFileName(for: name))
    }

    /// Marks `name` and its files as used.
    mutating func claim(_ name: String) {
        self.names.insert(name)
        self.files.insert(DevPKI.certificateFileName(for: name))
        self.files.insert(DevPKI.privateKeyFileName(for: name))
    }

    /// Returns `base` if it is free, otherwise `base-2`, `base-3`, …; the returned name is claimed.
    mutating func allocate(_ base: String) -> String {
        var candidate = base
        var suffix = 2
        while !self.isAvailable(candidate) {
            candidate = "\(base)-\(suffix)"
            suffix += 1
        }
        self.claim(candidate)
        return candidate
    }
}

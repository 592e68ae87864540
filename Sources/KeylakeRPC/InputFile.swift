#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a file a person named (a configuration file, a policy, a FHIR document): bounded in
/// size before anything is read, and every failure one readable sentence naming the file and the
/// cause ("no such file", "is a directory", "is 100000000 bytes; at most 1048576 are read").
public enum InputFile {
    /// Why a file could not be read.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The bytes of `path`, or of standard input when `path` is `-`, at most `maximumBytes`.
    ///
    /// - Parameter what: what the file is, for messages ("configuration file", "policy file").
    public static func read(_ path: String, what: String, maximumBytes: Int) throws -> [UInt8] {
        let descriptor: Int32
        let name: String
        if path == "-" {
            descriptor = STDIN_FILENO
            name = "standard input"
        } else {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            name = "\(what) \(path)"
            guard descriptor >= 0 else { throw Failure(description: "cannot read \(name): \(Self.reason(errno))") }
        }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw Failure(description: "cannot read \(name): \(Self.reason(errno))") }
        switch status.st_mode & S_IFMT {
        case S_IFDIR:
            throw Failure(description: "cannot read \(name): it is a directory")
        case S_IFREG where Int(status.st_size) > maximumBytes:
            throw Failure(description: "\(name) is \(status.st_size) bytes; at most \(maximumBytes) are read")
        default:
            break
        }
        // Read at most one byte more than allowed: a pipe or a file that grew says it is too big.
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= maximumBytes {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, Swift.min($0.count, maximumBytes + 1 - bytes.count)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "cannot read \(name): \(Self.reason(errno))")
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
        throw Failure(description: "\(name) is larger than \(maximumBytes) bytes, the most that are read")
    }

    /// The text of `path` (see ``read(_:what:maximumBytes:)``), which must be UTF-8.
    public static func readText(_ path: String, what: String, maximumBytes: Int) throws -> String {
        let bytes = try self.read(path, what: what, maximumBytes: maximumBytes)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Failure(description: "\(path == "-" ? "standard input" : "\(what) \(path)") is not UTF-8 text")
        }
        return text
    }

    private static func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(descriptor, buffer, count)
        #elseif canImport(Musl)
        Musl.read(descriptor, buffer, count)
        #else
        Darwin.read(descriptor, buffer, count)
        #endif
    }

    private static func reason(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }
}

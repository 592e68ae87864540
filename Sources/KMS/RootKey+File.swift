#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension RootKey {
    /// Loads the root key from a file holding exactly 32 raw bytes.
    ///
    /// The file must be a regular file (a symbolic link to one is fine, as mounted secrets often
    /// are) that neither group nor others may access: mode 0600, or 0400.
    ///
    /// - Throws: ``RootKeyError`` with code `fileMissing`, `unreadable`, `notARegularFile`,
    ///   `insecurePermissions` or `wrongLength`, each with a message naming the path and the fix.
    public static func load(from path: String) throws -> RootKey {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT {
                throw RootKeyError(
                    code: .fileMissing,
                    message: "no root key file at \(path); create one with `kmsd init` (mode 0600)"
                )
            }
            throw RootKeyError(code: .unreadable, message: "cannot open root key file \(path): \(Self.describe(errno: code))")
        }
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw RootKeyError(code: .unreadable, message: "cannot stat root key file \(path): \(Self.describe(errno: errno))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw RootKeyError(code: .notARegularFile, message: "root key path \(path) is not a regular file")
        }
        let permissions = UInt32(status.st_mode) & 0o777
        guard permissions & 0o077 == 0 else {
            throw RootKeyError(
                code: .insecurePermissions,
                message: "root key file \(path) has mode \(String(permissions, radix: 8)); "
                    + "it must be 0600 (run `chmod 600 \(path)`)"
            )
        }

        // Read one byte more than a key so that an overlong file is detected, not truncated.
        var buffer = [UInt8](repeating: 0, count: Self.byteCount + 1)
        var filled = 0
        while filled < buffer.count {
            let count = buffer.withUnsafeMutableBytes { raw in
                read(descriptor, raw.baseAddress! + filled, raw.count - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw RootKeyError(code: .unreadable, message: "cannot read root key file \(path): \(Self.describe(errno: errno))")
            }
            if count == 0 { break }
            filled += count
        }
        defer { buffer.withUnsafeMutableBytes { raw in _ = memset(raw.baseAddress!, 0, raw.count) } }
        guard filled == Self.byteCount else {
            let found = filled > Self.byteCount ? "more than \(Self.byteCount)" : "\(filled)"
            throw RootKeyError(
                code: .wrongLength,
                message: "root key file \(path) holds \(found) bytes; it must hold exactly \(Self.byteCount)"
            )
        }
        return try RootKey(bytes: buffer[0..<Self.byteCount])
    }

    /// Creates a new random root key, writes it to a new file with mode 0600, and returns it.
    ///
    /// The file is created exclusively with mode 0600 from the start, so no other user can open it
    /// between creation and a later `chmod`; it is flushed to disk before this returns.
    ///
    /// - Throws: ``RootKeyError`` with code `alreadyExists` if the path exists (a root key is
    ///   never overwritten: that would make every stored key unrecoverable), or `writeFailed`.
    @discardableResult
    public static func create(at path: String) throws -> RootKey {
        var bytes = SecureRandom.bytes(count: Self.byteCount)
        defer { bytes.withUnsafeMutableBytes { raw in _ = memset(raw.baseAddress!, 0, raw.count) } }
        let key = try RootKey(bytes: bytes)

        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(0o600))
        guard descriptor >= 0 else {
            let code = errno
            if code == EEXIST {
                throw RootKeyError(
                    code: .alreadyExists,
                    message: "refusing to overwrite existing root key file \(path)"
                )
            }
            throw RootKeyError(code: .writeFailed, message: "cannot create root key file \(path): \(Self.describe(errno: code))")
        }
        var succeeded = false
        defer {
            close(descriptor)
            if !succeeded { unlink(path) }
        }
        // The umask may only remove bits; make the mode exactly 0600 regardless.
        guard fchmod(descriptor, mode_t(0o600)) == 0 else {
            throw RootKeyError(code: .writeFailed, message: "cannot set mode 0600 on \(path): \(Self.describe(errno: errno))")
        }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                write(descriptor, raw.baseAddress! + written, raw.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw RootKeyError(code: .writeFailed, message: "cannot write root key file \(path): \(Self.describe(errno: errno))")
            }
            written += count
        }
        guard fsync(descriptor) == 0 else {
            throw RootKeyError(code: .writeFailed, message: "cannot flush root key file \(path): \(Self.describe(errno: errno))")
        }
        succeeded = true
        return key
    }

    private static func describe(errno code: Int32) -> String {
        String(cString: strerror(code))
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock on a key store: `flock(2)` on the file `<store>.lock` beside the
/// database, held from opening the store for writing until ``release()`` (or deinitialisation).
///
/// A running `kmsd` holds it for its lifetime and `kmsd rotate-root-key` while it rotates; the
/// kernel drops it when the process exits in any way, `kill -9` included, so a crash never
/// leaves a stale lock. Taking it never waits: a second holder is refused at once with
/// ``KeyStoreLockError/Code/inUse``, naming the holder and its process id, which the holder
/// writes into the lock file. The lock is per open file description, so a second open in the
/// same process is refused too.
public final class KeyStoreLock: Sendable {
    /// The lock file.
    public let path: String

    /// The open lock file's descriptor; -1 once released.
    private let descriptor: Mutex<Int32>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    deinit { self.release() }

    /// The lock file of the key store at `storePath`.
    public static func lockPath(forStoreAt storePath: String) -> String { storePath + ".lock" }

    /// Takes the lock of the key store at `storePath`, without waiting.
    ///
    /// - Parameter holder: Who takes it, for the message another process gets (`kmsd`,
    ///   `kmsd rotate-root-key`).
    /// - Throws: ``KeyStoreLockError`` `inUse` when another process or open holds it;
    ///   `unavailable` when the lock file cannot be created, opened or locked.
    public static func acquire(forStoreAt storePath: String, holder: String) throws -> KeyStoreLock {
        let path = Self.lockPath(forStoreAt: storePath)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw KeyStoreLockError(
                code: .unavailable,
                message: "cannot open the key store's lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            let owner = Self.recordedHolder(descriptor)
            close(descriptor)
            if failure == EWOULDBLOCK {
                throw KeyStoreLockError(
                    code: .inUse,
                    message: "the key store \(storePath) is in use by a running \(owner); stop it first (lock file \(path))")
            }
            throw KeyStoreLockError(
                code: .unavailable, message: "cannot lock the key store's lock file \(path): \(String(cString: strerror(failure)))")
        }
        // Record who holds it, for the refusal message of the next one.
        let record = Array("\(getpid()) \(holder)\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = record.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return KeyStoreLock(path: path, descriptor: descriptor)
    }

    /// Whether the lock is still held by this object.
    public var isHeld: Bool { self.descriptor.withLock { $0 >= 0 } }

    /// Releases the lock (closes the lock file); the file itself stays. Releasing twice is harmless.
    public func release() {
        let descriptor = self.descriptor.withLock { descriptor -> Int32 in
            defer { descriptor = -1 }
            return descriptor
        }
        if descriptor >= 0 { close(descriptor) }
    }

    /// "kmsd (pid N)" as recorded in the lock file, or a generic description if it cannot be read.
    private static func recordedHolder(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return "kmsd (pid unknown)" }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = text.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0 else { return "kmsd (pid unknown)" }
        let holder = parts[1].filter { $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" }
        return "\(holder.isEmpty ? "kmsd" : holder) (pid \(pid))"
    }
}

import Foundation
import Testing

@testable import KMS

/// Only one process (or open) has a key store for writing at a time (issue 3, root-key rotation
/// while kmsd runs).
@Suite("Key store lock")
struct KeyStoreLockTests {
    let identity = try! KeyServiceIdentity(region: "us-east-1", accountID: "111122223333")

    @Test("a second open of the same store is refused with inUse naming the holder; after close it opens")
    func secondOpenRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("kms.sqlite")
        let rootKey = try RootKey(bytes: [UInt8](repeating: 0x42, count: 32))
        let first = try KeyStore(path: path, rootKey: rootKey, identity: self.identity)
        let key = try first.createKey(NewKeyRequest(description: "kept"))
        let lockFile = try String(contentsOfFile: KeyStoreLock.lockPath(forStoreAt: path), encoding: .utf8)
        #expect(lockFile == "\(getpid()) kmsd\n")

        do {
            _ = try KeyStore(path: path, rootKey: rootKey, identity: self.identity)
            Issue.record("a second open of a held store succeeded")
        } catch let error as KeyStoreLockError {
            #expect(error.code == .inUse)
            #expect(error.message.contains("in use by a running kmsd (pid \(getpid()))"), "\(error.message)")
            #expect(error.message.contains(path))
        }
        // The refused open changed nothing: the first store still works.
        #expect(try first.key(key.keyID).description == "kept")
        _ = try first.createKey(NewKeyRequest(description: "after the refusal"))

        try first.close()
        #expect(!first.lock.isHeld)
        let second = try KeyStore(path: path, rootKey: rootKey, identity: self.identity)
        #expect(try second.key(key.keyID).description == "kept")
        #expect(second.lock.isHeld)
        try second.close()
    }

    @Test("the lock goes with the store when it is released without close")
    func releasedOnDeinit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("kms.sqlite")
        do {
            let lock = try KeyStoreLock.acquire(forStoreAt: path, holder: "kmsd")
            #expect(throws: KeyStoreLockError(code: .inUse, message: "")) {
                _ = try KeyStoreLock.acquire(forStoreAt: path, holder: "kmsd rotate-root-key")
            }
            withExtendedLifetime(lock) {}
        }
        let again = try KeyStoreLock.acquire(forStoreAt: path, holder: "kmsd rotate-root-key")
        do {
            _ = try KeyStoreLock.acquire(forStoreAt: path, holder: "kmsd")
            Issue.record("the lock was taken twice")
        } catch let error as KeyStoreLockError {
            #expect(error.message.contains("in use by a running kmsd rotate-root-key (pid \(getpid()))"), "\(error.message)")
        }
        again.release()
        again.release()
        #expect(!again.isHeld)
    }

    @Test("a lock file that cannot be created is a clear unavailable error")
    func unavailable() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            _ = try KeyStoreLock.acquire(forStoreAt: directory.file("missing/kms.sqlite"), holder: "kmsd")
            Issue.record("a lock in a missing directory was taken")
        } catch let error as KeyStoreLockError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("missing/kms.sqlite.lock"), "\(error.message)")
        }
    }
}

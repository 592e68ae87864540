import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The user the end-to-end tests run the product as.
///
/// Users run Keylake without privileges, while CI runs as root, where a root-only path (a socket
/// option that needs CAP_NET_ADMIN, a file only root may write) goes unnoticed. So when this test
/// process is root, every process a ``Workspace`` starts runs as an unprivileged user through
/// `setpriv`: `keylake-test` when it exists (`scripts/test` creates it), else `nobody`. When the
/// tests already run as an ordinary user, processes run as that user, unchanged.
enum TestUser {
    struct Identity: Sendable {
        var name: String
        var uid: uid_t
        var gid: gid_t
    }

    /// The unprivileged identity to switch to, or nil when this process is not root.
    static let switchTo: Identity? = {
        guard geteuid() == 0 else { return nil }
        for name in ["keylake-test", "nobody"] {
            if let entry = getpwnam(name) {
                return Identity(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
            }
        }
        return nil
    }()

    /// Where `setpriv` is; the tests fail rather than silently run as root without it.
    static let setpriv: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// `executable arguments` as the command that runs them as the test user.
    static func command(_ executable: String, _ arguments: [String]) throws -> (executable: String, arguments: [String]) {
        guard geteuid() == 0 else { return (executable, arguments) }
        guard let user = self.switchTo else {
            throw HarnessError("running as root and no unprivileged user (keylake-test or nobody) to run the product as")
        }
        guard let setpriv = self.setpriv else {
            throw HarnessError("running as root and setpriv (util-linux) is missing: the product must be tested as an unprivileged user")
        }
        return (
            setpriv,
            ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--", executable] + arguments
        )
    }

    /// Gives the test user `directory` and everything below it (a no-op unless switching users),
    /// so that files and folders the test itself made there are the product's to read and write.
    static func own(_ directory: String) {
        guard let user = self.switchTo else { return }
        _ = chown(directory, user.uid, user.gid)
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return }
        while let relative = walker.nextObject() as? String {
            _ = lchown("\(directory)/\(relative)", user.uid, user.gid)
        }
    }

    /// The Python interpreter the interop client runs with: the system's when switching users
    /// (an interpreter under root's home is out of an unprivileged user's reach), else `python3`
    /// on PATH.
    static var python: (executable: String, arguments: [String]) {
        self.switchTo == nil ? ("/usr/bin/env", ["python3"]) : ("/usr/bin/python3", [])
    }
}

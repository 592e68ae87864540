import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a group of files into one directory so that none of them appears half-written.
///
/// Every file is first written in full to a hidden temporary file in the target directory, created with its final
/// permissions (`O_CREAT | O_EXCL` with the mode, then `fchmod` to undo the umask), so a private key is never
/// readable by others, not even briefly. ``commit()`` then renames the temporary files into place; each rename is
/// atomic. If staging fails, every temporary file is removed and no target file is touched.
struct StagedWriter {
    private struct Entry {
        var temporaryPath: String
        var finalPath: String
    }

    let directory: String
    private var entries: [Entry] = []
    private var committed = false

    init(directory: String) {
        self.directory = directory
    }

    /// Writes `contents` to a temporary file that will become `directory/fileName` on commit.
    mutating func stage(_ contents: String, as fileName: String, mode: mode_t) throws {
        let finalPath = self.directory + "/" + fileName
        let temporaryPath = self.directory + "/." + fileName + ".tmp-" + Self.randomSuffix()
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        if descriptor < 0 {
            throw DevPKIError.directoryNotWritable("cannot create \(temporaryPath): \(Self.lastError())")
        }
        self.entries.append(Entry(temporaryPath: temporaryPath, finalPath: finalPath))
        defer { close(descriptor) }
        if fchmod(descriptor, mode) != 0 {
            throw DevPKIError.directoryNotWritable("cannot set permissions on \(temporaryPath): \(Self.lastError())")
        }
        let bytes = Array(contents.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress, buffer.count)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw DevPKIError.directoryNotWritable("cannot write \(temporaryPath): \(Self.lastError())")
            }
            offset += written
        }
        if fsync(descriptor) != 0 {
            throw DevPKIError.directoryNotWritable("cannot flush \(temporaryPath): \(Self.lastError())")
        }
    }

    /// Renames every staged file into place, in the order staged.
    mutating func commit() throws {
        for (index, entry) in self.entries.enumerated() where rename(entry.temporaryPath, entry.finalPath) != 0 {
            let error = Self.lastError()
            for remaining in self.entries[index...] {
                unlink(remaining.temporaryPath)
            }
            self.entries.removeAll()
            throw DevPKIError.directoryNotWritable("cannot move \(entry.finalPath) into place: \(error)")
        }
        self.entries.removeAll()
        self.committed = true
        let directoryDescriptor = open(self.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Removes every staged temporary file; call when giving up before ``commit()``.
    mutating func discard() {
        for entry in self.entries {
            unlink(entry.temporaryPath)
        }
        self.entries.removeAll()
    }

    private static func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 36)
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}

/// File-system helpers for a development home.
enum HomeDirectory {
    /// The absolute, standardized form of `path`, resolved against the current directory if relative.
    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Creates `path` with mode 0700 if it does not exist (parents get default permissions), and checks that it
    /// is a writable directory.
    static func prepare(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw DevPKIError.directoryNotWritable("\(path) exists and is not a directory")
            }
        } else {
            let parent = (path as NSString).deletingLastPathComponent
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw DevPKIError.directoryNotWritable("cannot create \(parent): \(error)")
            }
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw DevPKIError.directoryNotWritable("cannot create \(path): \(String(cString: strerror(errno)))")
            }
            if chmod(path, 0o700) != 0 {
                throw DevPKIError.directoryNotWritable("cannot set permissions on \(path): \(String(cString: strerror(errno)))")
            }
        }
        if access(path, W_OK | X_OK) != 0 {
            throw DevPKIError.directoryNotWritable("\(path) is not writable: \(String(cString: strerror(errno)))")
        }
    }
}

import ArgumentParser
import Foundation
import KeylakeRPC

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one entry point of `keylake`, `kmsd` and `fhird`: parses, runs, and turns whatever a
/// command throws into one readable line on standard error and a non-zero status, never a trap.
enum CommandLineEntry {
    static func main<Command: ParsableCommand>(_ type: Command.Type, arguments: [String]? = nil) async {
        // A closed pipe is an ordinary end for a command line (`keylake … | head -c1`): writes
        // fail with EPIPE (see ``Terminal``) instead of the process dying of SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        var command: any ParsableCommand
        do {
            command = try type.parseAsRoot(arguments)
        } catch {
            type.exit(withError: error)  // usage errors keep ArgumentParser's usage text
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            type.exit(withError: Self.normalize(error))
        }
        Terminal.flush()
    }

    /// An error a command threw while running, as ArgumentParser should print it: exit codes and
    /// clean exits as they are; a validation error found while running as one line (its usage
    /// text would only repeat the command line); a Foundation file error as "PATH: reason".
    static func normalize(_ error: any Error) -> any Error {
        switch error {
        case is ExitCode, is CleanExit:
            return error
        case let error as ValidationError:
            return CLIError(error.message)
        default:
            let bridged = error as NSError
            guard bridged.domain == NSCocoaErrorDomain || bridged.domain == NSPOSIXErrorDomain else { return error }
            let underlying = (bridged.userInfo[NSUnderlyingErrorKey] as? NSError) ?? bridged
            let path = bridged.userInfo[NSFilePathErrorKey] as? String ?? (bridged.userInfo[NSURLErrorKey] as? URL)?.path
            let reason =
                underlying.domain == NSPOSIXErrorDomain
                ? String(cString: strerror(Int32(underlying.code))).lowercased() : bridged.localizedDescription
            return CLIError(path.map { "\($0): \(reason)" } ?? reason)
        }
    }
}

/// Writing to standard output and error without ever trapping: a closed pipe or a full disk ends
/// the command quietly with status 141 (128 + SIGPIPE, what a shell shows for a command a pipe
/// closed), instead of FileHandle's trap on a failed write.
enum Terminal {
    static func output(_ bytes: Data) { self.write(bytes, to: STDOUT_FILENO) }
    static func output(_ text: String) { self.output(Data(text.utf8)) }
    static func error(_ text: String) { self.write(Data(text.utf8), to: STDERR_FILENO) }

    /// Flushes what `print` buffered; a closed pipe ends the command as in ``write(_:to:)``.
    static func flush() {
        if fflush(nil) != 0, errno == EPIPE { exit(141) }
    }

    private static func write(_ bytes: Data, to descriptor: Int32) {
        if descriptor == STDOUT_FILENO { self.flush() }  // keep order with what `print` buffered
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    exit(141)
                }
                offset += written
            }
        }
    }
}

private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(descriptor, buffer, count)
    #elseif canImport(Musl)
    Musl.write(descriptor, buffer, count)
    #else
    Darwin.write(descriptor, buffer, count)
    #endif
}

import Foundation
import NIOCore
import NIOPosix

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func isListening(port: Int) async -> Bool {
    do {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2))
            .connect(host: "127.0.0.1", port: port).get()
        try? await channel.close()
        return true
    } catch {
        return false
    }
}

/// The value of a "`name`: value" line of CLI output (spaces after the colon trimmed), if any.
func field(_ name: String, in output: String) -> String? {
    for line in output.split(separator: "\n") where line.hasPrefix("\(name):") {
        return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
    }
    return nil
}

/// The value of a "`name`=value" line of the Python client's output, if any.
func keyValue(_ name: String, in output: String) -> String? {
    for line in output.split(separator: "\n") where line.hasPrefix("\(name)=") {
        return String(line.dropFirst(name.count + 1))
    }
    return nil
}

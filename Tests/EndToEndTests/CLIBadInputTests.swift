import Foundation
import Testing

/// The command line is a parser of user input too: every `keylake` subcommand, found from the
/// CLI's own description of itself (`--experimental-dump-help`, so a new subcommand is covered
/// without editing this file), given an unreachable home, an unknown identity, and, for every
/// option that reads a file, a missing file, a directory, invalid JSON, a 100 MB file and
/// invalid UTF-8, ends with a clear error line and a non-zero status, never a trap.
@Suite("keylake: bad input on every subcommand", .timeLimit(.minutes(15)))
struct CLIBadInputTests {
    struct Command {
        var path: [String]
        var options: [String: Bool]  // long option name -> required
        var positionals: [String]  // required positional value names, in order
        func has(_ option: String) -> Bool { self.options[option] != nil }
    }

    /// Leaf subcommands with their long options, from `keylake --experimental-dump-help`.
    static func commands(_ workspace: Workspace) async throws -> [Command] {
        let dump = try await workspace.keylake(["--experimental-dump-help"])
        try #require(dump.status == 0, "\(dump.transcript)")
        let root = try #require(
            (try JSONSerialization.jsonObject(with: Data(dump.standardOutput.utf8)) as? [String: Any])?["command"] as? [String: Any])
        var found: [Command] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            if subcommands.isEmpty, !path.isEmpty, path != ["help"] {
                var options: [String: Bool] = [:]
                var positionals: [String] = []
                for argument in command["arguments"] as? [[String: Any]] ?? [] {
                    let required = !(argument["isOptional"] as? Bool ?? true)
                    switch argument["kind"] as? String {
                    case "option", "flag":
                        let names = argument["names"] as? [[String: Any]] ?? []
                        if let long = names.first(where: { $0["kind"] as? String == "long" })?["name"] as? String {
                            options[long] = required && argument["kind"] as? String == "option"
                        }
                    case "positional" where required:
                        positionals.append(argument["valueName"] as? String ?? "")
                    default:
                        break
                    }
                }
                found.append(Command(path: path, options: options, positionals: positionals))
            }
            for subcommand in subcommands {
                walk(subcommand, path + [subcommand["commandName"] as? String ?? ""])
            }
        }
        walk(root, [])
        return found
    }

    static let datastoreID = String(repeating: "0", count: 32)

    /// A plausible value for a required option or positional (the case under test replaces one).
    static func value(for name: String, workspace: Workspace) -> String? {
        switch name {
        case "key-id", "target-key-id", "destination-key-id": "alias/no-such-key"
        case "alias-name": "alias/bad-input"
        case "description", "tag-key", "tag-keys", "grant-id", "id", "datastore-name": "x"
        case "tag": "k=v"
        case "tags": "Key=k,Value=v"
        case "plaintext", "ciphertext-blob": "aGVsbG8="
        case "number-of-bytes": "8"
        case "grantee-principal", "retiring-principal": "arn:aws:iam::111122223333:root"
        case "operations": "Decrypt"
        case "datastore-id": Self.datastoreID
        case "resource-arn": "arn:aws:healthlake:us-east-1:111122223333:datastore/fhir/\(Self.datastoreID)"
        case "resource-type": "Patient"
        case "version-id": "1"
        case "policy-file": workspace.path("inputs/policy.json")
        case "config": workspace.path("inputs/kmsd.json")
        case "kind": "kmsd"
        case "scenario": "disable-key"
        case "upstream": "127.0.0.1:1"
        case "out": workspace.path("out-\(UUID().uuidString.prefix(8))")
        case "dir": workspace.path("dir-\(UUID().uuidString.prefix(8))")
        default: nil
        }
    }

    /// The command line for `command` with `overrides` (option -> value) on top of its required ones.
    static func arguments(_ command: Command, workspace: Workspace, overrides: [String: String]) throws -> [String] {
        var arguments = command.path
        for positional in command.positionals {
            arguments.append(try #require(Self.value(for: positional, workspace: workspace), "\(command.path): a value for <\(positional)>"))
        }
        for (option, required) in command.options.sorted(by: { $0.key < $1.key }) where required && overrides[option] == nil {
            arguments += ["--\(option)", try #require(Self.value(for: option, workspace: workspace), "\(command.path): a value for --\(option)")]
        }
        for (option, value) in overrides.sorted(by: { $0.key < $1.key }) { arguments += ["--\(option)", value] }
        return arguments
    }

    /// The verdict on one run: a non-zero status that is not a signal's, a first line on standard
    /// error that names an error, nothing that looks like a trap or a stack trace.
    static func expectClear(_ result: CompletedProcess, _ label: String, mentioning: String? = nil) {
        #expect(result.status != 0, "\(label): succeeded\n\(result.transcript)")
        #expect(!(129...192).contains(result.status), "\(label): killed by signal \(result.status - 128)\n\(result.transcript)")
        let lines = result.standardError.split(separator: "\n", omittingEmptySubsequences: true)
        let first = lines.first.map(String.init) ?? ""
        // ArgumentParser's "Error: …", the aws CLI's "An error occurred (Name) when calling …", or
        // the chaos tool's documented "chaos run FAILED (no verdict): …" (exit 2).
        #expect(
            ["Error: ", "An error occurred (", "chaos run FAILED (no verdict): "].contains { first.hasPrefix($0) },
            "\(label): no error line\n\(result.transcript)")
        // A trap or a stack trace, or a raw Foundation/decoding error dump instead of a sentence.
        for marker in [
            "Fatal error", "Stack dump", "stack trace", "Program crashed", "#0 0x", "Thread 0 crashed",
            "Error Domain=", "UserInfo=", "DecodingError", "Debug description",
        ] {
            #expect(!result.standardError.contains(marker), "\(label): \(marker)\n\(result.transcript)")
        }
        if let mentioning {
            #expect(first.contains(mentioning), "\(label): the error does not name \(mentioning)\n\(result.transcript)")
        }
    }

    @Test("every subcommand: unreachable home, unknown identity, and bad files end with a clear error, never a trap")
    func everySubcommand() async throws {
        try await withWorkspace { workspace in
            let home = workspace.path("home")
            let devUp = try workspace.startKeylake(["dev", "up", "--dir", home])
            try await devUp.waitForOutput(containing: "both daemons ready", timeout: .seconds(180))

            // Inputs: a valid policy and configuration (so that only the case under test is bad),
            // then the bad ones.
            let inputs = workspace.path("inputs")
            try FileManager.default.createDirectory(atPath: "\(inputs)/a-directory", withIntermediateDirectories: true)
            try Data(#"{"Version":"2012-10-17","Statement":[]}"#.utf8).write(to: URL(fileURLWithPath: "\(inputs)/policy.json"))
            try FileManager.default.copyItem(atPath: "\(home)/kmsd.json", toPath: "\(inputs)/kmsd.json")
            try Data(#"{"resourceType":"Patient"}"#.utf8).write(to: URL(fileURLWithPath: "\(inputs)/patient.json"))
            try Data("{\"resourceType\": ".utf8).write(to: URL(fileURLWithPath: "\(inputs)/invalid.json"))
            try Data([0x7B, 0x22, 0xFF, 0xFE, 0xC0, 0x80, 0x22, 0x7D]).write(to: URL(fileURLWithPath: "\(inputs)/not-utf8.json"))
            // 100 MB, sparse: the size is what matters, and the CLI must refuse it before reading.
            let large = "\(inputs)/large.json"
            #expect(FileManager.default.createFile(atPath: large, contents: Data("{".utf8)))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: large))
            try handle.truncate(atOffset: 100_000_000)
            try handle.close()
            let badFiles: [(String, String)] = [
                ("a missing file", "\(inputs)/no-such-file.json"), ("a directory", "\(inputs)/a-directory"),
                ("invalid JSON", "\(inputs)/invalid.json"), ("a 100 MB file", large), ("invalid UTF-8", "\(inputs)/not-utf8.json"),
            ]
            let fileOptions = ["policy-file", "file", "config"]

            let commands = try await Self.commands(workspace)
            #expect(commands.count >= 60, "the CLI lists \(commands.count) subcommands")
            var runs = 0
            for command in commands {
                let name = command.path.joined(separator: " ")
                if command.has("home") {
                    let arguments = try Self.arguments(command, workspace: workspace, overrides: ["home": workspace.path("no-such-home")])
                    Self.expectClear(try await workspace.keylake(arguments, timeout: .seconds(120)), "\(name) with an unreachable home")
                    runs += 1
                }
                if command.has("as"), command.has("home") {
                    var overrides = ["home": home, "as": "no-such-identity"]
                    if command.has("file") { overrides["file"] = "\(inputs)/patient.json" }  // else stdin, read first
                    if command.has("tag") { overrides["tag"] = "k=v" }  // else "needs at least one tag" comes first
                    let arguments = try Self.arguments(command, workspace: workspace, overrides: overrides)
                    Self.expectClear(
                        try await workspace.keylake(arguments, timeout: .seconds(120)), "\(name) as an unknown identity",
                        mentioning: "no-such-identity")
                    runs += 1
                }
                for option in fileOptions where command.has(option) {
                    for (label, path) in badFiles {
                        var overrides = [option: path]
                        if command.has("home") { overrides["home"] = home }
                        let arguments = try Self.arguments(command, workspace: workspace, overrides: overrides)
                        Self.expectClear(try await workspace.keylake(arguments, timeout: .seconds(120)), "\(name) --\(option) \(label)")
                        runs += 1
                    }
                }
            }
            #expect(runs >= 120, "only \(runs) bad-input runs")

            // The daemons served every one of those and are still well.
            let health = try await workspace.keylake(["health", "--home", home])
            #expect(health.status == 0, "\(health.transcript)")
            devUp.terminate()
            #expect(await devUp.waitForExit(timeout: .seconds(120)) == 0, "\(devUp.transcript)")
        }
    }

    @Test("a closed standard output or error ends a command quietly, never with a trap (50 runs each)")
    func closedPipe() async throws {
        try await withWorkspace { workspace in
            let home = workspace.path("home")
            let devUp = try workspace.startKeylake(["dev", "up", "--dir", home])
            try await devUp.waitForOutput(containing: "both daemons ready", timeout: .seconds(180))
            // Outputs larger than a pipe holds, so writes meet the closed pipe: the CLI's help
            // (print) and fhird's CapabilityStatement (raw bytes), each on stdout and stderr.
            let script = """
                for i in $(seq 1 50); do
                  "$0" --experimental-dump-help | head -c1 >/dev/null; echo "help-stdout ${PIPESTATUS[0]}"
                  "$0" fhir capabilities --home "$1" 2>&1 | head -c1 >/dev/null; echo "capabilities ${PIPESTATUS[0]}"
                  "$0" --experimental-dump-help 3>&1 1>&2 2>&3 | head -c1 >/dev/null; echo "help-stderr ${PIPESTATUS[0]}"
                done
                """
            let result = try await workspace.run(
                "closed pipes", executable: "/bin/bash", ["-c", script, workspace.keylakeExecutable, home], timeout: .seconds(600))
            #expect(result.status == 0, "\(result.transcript)")
            let statuses = result.standardOutput.split(separator: "\n").compactMap { line -> (String, Int)? in
                let fields = line.split(separator: " ")
                guard fields.count == 2, let status = Int(fields[1]) else { return nil }
                return (String(fields[0]), status)
            }
            #expect(statuses.count == 150, "\(result.transcript)")
            for (what, status) in statuses {
                // 0 (finished before the pipe closed) or 141 (ended at the closed pipe); a trap
                // is 132 (SIGILL), 133 (SIGTRAP) or 134 (SIGABRT).
                #expect(status == 0 || status == 141, "\(what) ended with \(status)\n\(result.transcript)")
            }
            devUp.terminate()
            #expect(await devUp.waitForExit(timeout: .seconds(120)) == 0, "\(devUp.transcript)")
        }
    }
}

import ArgumentParser
import Foundation
import GRPCCore
import KeylakeProto
import SwiftProtobuf

/// `keylake audit …`: the key service's audit trail — look events up, verify the hash chain,
/// export everything as JSON lines.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Read and verify kmsd's audit trail.",
        subcommands: [AuditLookup.self, AuditVerify.self, AuditExport.self])
}

struct AuditLookup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup", abstract: "Look up events (same as `keylake kms lookup-events`).")
    @OptionGroup var options: KMSOptions
    @Option(
        name: .customLong("lookup-attributes"), parsing: .upToNextOption,
        help: "AttributeKey=K,AttributeValue=V ... (EventName, ResourceName, Username, EventId), as the aws CLI takes them.")
    var lookupAttributes: [String] = []
    @Option(help: "EventName filter, e.g. GenerateDataKey.") var eventName: String?
    @Option(help: "Key id or key ARN filter.") var resourceName: String?
    @Option(help: "Principal filter.") var username: String?
    @Option var maxResults: Int32 = 0
    @Option var nextToken: String = ""

    func run() async throws {
        var lookup = try KMSLookupEvents.parse([])
        lookup.options = self.options
        lookup.lookupAttributes = self.lookupAttributes
        lookup.eventName = self.eventName
        lookup.resourceName = self.resourceName
        lookup.username = self.username
        lookup.maxResults = self.maxResults
        lookup.nextToken = self.nextToken
        try await lookup.run()
    }
}

struct AuditVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Verify the hash chain; exits 1 if any event was edited, deleted, inserted or moved.")
    @OptionGroup var options: KMSOptions

    func run() async throws {
        let response = try await self.options.home.withClient(.kmsd) { client in
            try await Keylake_Kms_V1_KeyManagementService.Client(wrapping: client).verifyAuditChain(.init(), options: .cli)
        }
        if response.valid {
            print("audit chain intact: \(response.eventsChecked) events checked")
        } else {
            print("audit chain BROKEN at event \(response.firstBadSequence): \(response.problem)")
            throw ExitCode(1)
        }
    }
}

struct AuditExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write every event you may read as JSON lines (oldest page first as kmsd returns them).")
    @OptionGroup var options: KMSOptions
    @Option(help: "Output file; standard output when omitted.") var out: String?
    @Option(help: "Events per request.") var pageSize: Int32 = 100

    func run() async throws {
        let pageSize = self.pageSize
        let lines: [String] = try await self.options.home.withClient(.kmsd) { client in
            let kms = Keylake_Kms_V1_KeyManagementService.Client(wrapping: client)
            var lines: [String] = []
            var token = ""
            repeat {
                let page = try await kms.lookupEvents(
                    .with {
                        $0.maxResults = pageSize
                        $0.nextToken = token
                    }, options: .cli)
                lines += page.events.map(\.cloudTrailEvent)
                token = page.nextToken
            } while !token.isEmpty
            return lines
        }
        let text = lines.map { $0 + "\n" }.joined()
        if let out = self.out {
            try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
            print("\(lines.count) events written to \(out)")
        } else {
            print(text, terminator: "")
        }
    }
}

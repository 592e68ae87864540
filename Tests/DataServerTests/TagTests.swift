import DataServer
import Foundation
import GRPCCore
import KeylakeProto
import SwiftProtobuf
import Testing

/// HealthLake's TagResource, UntagResource and ListTagsForResource on datastore ARNs.
@Suite("fhird: datastore tags", .timeLimit(.minutes(3)))
struct TagTests {
    static let arnPrefix = "arn:aws:healthlake:us-east-1:111122223333:datastore/fhir/"

    static func list(_ system: TestSystem, _ arn: String) async throws -> [String: String] {
        var tags: [String: String] = [:]
        for tag in try await system.app.listTagsForResource(.with { $0.resourceArn = arn }, options: .test).tags { tags[tag.key] = tag.value }
        return tags
    }

    static func tag(_ system: TestSystem, _ arn: String, _ tags: [(String, String)]) async throws {
        _ = try await system.app.tagResource(
            .with { request in
                request.resourceArn = arn
                request.tags = tags.map { key, value in .with { $0.key = key; $0.value = value } }
            }, options: .test)
    }

    @Test("tags round trip: at creation, added, overwritten, removed, sorted by key")
    func roundTrip() async throws {
        try await withTestSystem { system in
            let created = try await system.app.createFHIRDatastore(
                .with {
                    $0.datastoreName = "tagged"
                    $0.tags = [.with { $0.key = "team"; $0.value = "cardiology" }]
                }, options: .test)
            let arn = created.datastoreArn
            #expect(arn == Self.arnPrefix + created.datastoreID)
            #expect(try await Self.list(system, arn) == ["team": "cardiology"])

            try await Self.tag(system, arn, [("env", "test"), ("team", "oncology"), ("empty", ""), ("ünïcode key 1", "a/b=c+d-e@f:g_h.i")])
            #expect(try await Self.list(system, arn) == ["env": "test", "team": "oncology", "empty": "", "ünïcode key 1": "a/b=c+d-e@f:g_h.i"])
            let ordered = try await system.app.listTagsForResource(.with { $0.resourceArn = arn }, options: .test).tags.map(\.key)
            #expect(ordered == ordered.sorted())

            _ = try await system.app.untagResource(.with { $0.resourceArn = arn; $0.tagKeys = ["env", "never-there"] }, options: .test)
            #expect(try await Self.list(system, arn) == ["team": "oncology", "empty": "", "ünïcode key 1": "a/b=c+d-e@f:g_h.i"])

            // Another datastore's tags are its own.
            let other = try await system.createDatastore(name: "other")
            #expect(try await Self.list(system, Self.arnPrefix + other).isEmpty)
        }
    }

    @Test("validation: key and value lengths and characters, repeated keys, more than 50 tags; nothing changes")
    func validation() async throws {
        try await withTestSystem { system in
            let id = try await system.createDatastore(name: "validated")
            let arn = Self.arnPrefix + id
            try await Self.tag(system, arn, [("keep", "me")])
            let bad: [(tags: [(String, String)], says: String)] = [
                ([("", "v")], "tag key must be 1 to 128"),
                ([(String(repeating: "k", count: 129), "v")], "tag key must be 1 to 128"),
                ([("k", String(repeating: "v", count: 257))], "must be 0 to 256"),
                ([("semi;colon", "v")], "tag key must be"),
                ([("k", "hash#")], "must be 0 to 256"),
                ([("dup", "1"), ("dup", "2")], "more than once"),
                ((0..<51).map { ("k\($0)", "v") }, "at most 50"),
                ((0..<50).map { ("k\($0)", "v") }, "would have 51 tags"),  // 50 new + the one it has
            ]
            for (tags, says) in bad {
                let refused = try await failure { try await Self.tag(system, arn, tags) }
                #expect(refused?.name == "ValidationException", "\(says): \(String(describing: refused))")
                #expect(refused?.code == .invalidArgument)
                #expect(refused?.message.contains(says) == true, "\(says): \(String(describing: refused))")
                #expect(try await Self.list(system, arn) == ["keep": "me"], "\(says): nothing changed")
            }
            // Exactly at the limits is fine: 128-character key, 256-character value, 50 tags.
            try await Self.tag(system, arn, [(String(repeating: "k", count: 128), String(repeating: "v", count: 256))])
            try await Self.tag(system, arn, (0..<48).map { ("k\($0)", "v") })
            #expect(try await Self.list(system, arn).count == 50)
            // Overwriting an existing key does not count as a new tag.
            try await Self.tag(system, arn, [("keep", "changed")])
            #expect(try await Self.list(system, arn)["keep"] == "changed")
            let untagBad = try await failure {
                try await system.app.untagResource(.with { $0.resourceArn = arn; $0.tagKeys = [""] }, options: .test)
            }
            #expect(untagBad?.name == "ValidationException")
            // Creating a datastore with invalid tags is refused before anything is created.
            let createBad = try await failure {
                try await system.app.createFHIRDatastore(
                    .with { $0.datastoreName = "bad-tags"; $0.tags = [.with { $0.key = ""; $0.value = "x" }] }, options: .test)
            }
            #expect(createBad?.name == "ValidationException")
            let listed = try await system.app.listFHIRDatastores(.init(), options: .test).datastorePropertiesList
            #expect(!listed.contains { $0.datastoreName == "bad-tags" })
        }
    }

    @Test("unknown, malformed, foreign and deleted datastore ARNs")
    func arns() async throws {
        try await withTestSystem { system in
            let id = try await system.createDatastore(name: "arns")
            for call in ["tag", "untag", "list"] {
                func run(_ arn: String) async throws -> CallFailure? {
                    try await failure {
                        switch call {
                        case "tag": try await Self.tag(system, arn, [("a", "b")])
                        case "untag": _ = try await system.app.untagResource(.with { $0.resourceArn = arn; $0.tagKeys = ["a"] }, options: .test)
                        default: _ = try await Self.list(system, arn)
                        }
                    }
                }
                let unknown = try await run(Self.arnPrefix + "0123456789abcdef0123456789abcdef")
                #expect(unknown?.name == "ResourceNotFoundException", "\(call): \(String(describing: unknown))")
                #expect(unknown?.code == .notFound)
                let foreign = try await run("arn:aws:healthlake:eu-west-1:999999999999:datastore/fhir/\(id)")
                #expect(foreign?.name == "ResourceNotFoundException", "\(call)")
                for malformed in ["", "not-an-arn", "arn:aws:kms:us-east-1:111122223333:key/\(id)", Self.arnPrefix, "arn:aws:healthlake:us-east-1:111122223333:datastore/\(id)"] {
                    let refused = try await run(malformed)
                    #expect(refused?.name == "ValidationException", "\(call) \(malformed): \(String(describing: refused))")
                }
            }
            try await Self.tag(system, Self.arnPrefix + id, [("a", "b")])
            _ = try await system.app.deleteFHIRDatastore(.with { $0.datastoreID = id }, options: .test)
            let afterDelete = try await failure { try await Self.list(system, Self.arnPrefix + id) }
            #expect(afterDelete?.name == "ResourceNotFoundException")
        }
    }
}

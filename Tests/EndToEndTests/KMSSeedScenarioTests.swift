import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Testing

/// The seed document's scenario against a real kmsd over mTLS: the HealthLake role may use the
/// key only through the data service, the service acts for it and is audited as `invokedBy`, and
/// nobody else may claim to act for someone.
@Suite("kmsd: seed scenario over RPC", .timeLimit(.minutes(10)))
struct KMSSeedScenarioTests {
    typealias P = KMSPrincipals

    /// The members every CloudTrail-shaped event carries (issue 3, "Audit trail").
    static let cloudTrailFields: Set<String> = [
        "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
        "userAgent", "requestParameters", "responseElements", "requestID", "eventID", "readOnly", "resources",
        "eventType", "managementEvent", "recipientAccountId", "eventCategory",
    ]

    @Test("the seed policy works verbatim: app is refused directly, allowed via healthlake, grants and audit follow")
    func seedScenario() async throws {
        try await withWorkspace { workspace in
            let system = try await KMSDevSystem.start(in: workspace)
            let context = ["aws:healthlake:datastore-id": "e2e-datastore"]

            // admin: a key with the root statement plus the seed statement verbatim.
            let (key, policy) = try await system.withClient(as: "admin") { admin in
                let key = try await kmsCreateKey(admin, description: "seed scenario")
                _ = try await admin.putKeyPolicy(
                    .make { $0.keyID = key.keyID; $0.policyName = "default"; $0.policy = KMSPolicies.seedPolicy }, options: .kmsTest)
                let stored = try await admin.getKeyPolicy(.make { $0.keyID = key.keyID }, options: .kmsTest)
                return (key, stored.policy)
            }
            #expect(policy == KMSPolicies.seedPolicy, "the policy must be stored exactly as put")
            #expect(key.keyState == .enabled)
            #expect(key.keyManager == .customer)

            // app directly: denied.
            let directID = kmsRequestID("seed-direct")
            try await system.withClient(as: "app") { app in
                try await expectKMSError(.permissionDenied, "AccessDeniedException", "app calling GenerateDataKey directly") {
                    try await app.generateDataKey(
                        .make { $0.keyID = key.keyID; $0.keySpec = "AES_256"; $0.encryptionContext = context },
                        metadata: .kms(requestID: directID), options: .kmsTest)
                }
                try await expectKMSError(.permissionDenied, "AccessDeniedException", "app calling DescribeKey directly") {
                    try await app.describeKey(.make { $0.keyID = key.keyID }, options: .kmsTest)
                }
            }

            // fhird for itself, before any grant: the policy says nothing about the service itself.
            try await system.withClient(as: "fhird") { fhird in
                try await expectKMSError(.permissionDenied, "AccessDeniedException", "fhird for itself without a grant") {
                    try await fhird.describeKey(.make { $0.keyID = key.keyID }, options: .kmsTest)
                }
            }

            // fhird on behalf of app: allowed through the seed statement.
            let viaID = kmsRequestID("seed-via")
            let grantID = kmsRequestID("seed-grant")
            let (dataKey, grant) = try await system.withClient(as: "fhird") { fhird in
                let dataKey = try await fhird.generateDataKey(
                    .make { $0.keyID = key.keyID; $0.keySpec = "AES_256"; $0.encryptionContext = context },
                    metadata: .kms(requestID: viaID, onBehalfOf: P.app), options: .kmsTest)
                let decrypted = try await fhird.decrypt(
                    .make { $0.ciphertextBlob = dataKey.ciphertextBlob; $0.encryptionContext = context },
                    metadata: .kms(onBehalfOf: P.app), options: .kmsTest)
                #expect(decrypted.plaintext == dataKey.plaintext)
                let described = try await fhird.describeKey(.make { $0.keyID = key.keyID }, metadata: .kms(onBehalfOf: P.app), options: .kmsTest)
                #expect(described.keyMetadata.arn == key.arn)
                let grant = try await fhird.createGrant(
                    .make {
                        $0.keyID = key.keyID
                        $0.granteePrincipal = P.healthLake
                        $0.retiringPrincipal = P.healthLake
                        $0.operations = ["Decrypt", "GenerateDataKey", "DescribeKey", "RetireGrant"]
                        $0.name = "healthlake-datastore-e2e"
                    },
                    metadata: .kms(requestID: grantID, onBehalfOf: P.app), options: .kmsTest)
                return (dataKey, grant)
            }
            #expect(dataKey.plaintext.count == 32)
            #expect(dataKey.keyID == key.arn)
            #expect(!grant.grantID.isEmpty)
            #expect(!grant.grantToken.isEmpty)

            // The grant lets the service itself use the key, and only for what it names.
            try await system.withClient(as: "fhird") { fhird in
                let own = try await fhird.generateDataKey(
                    .make { $0.keyID = key.keyID; $0.numberOfBytes = 64; $0.encryptionContext = context }, options: .kmsTest)
                #expect(own.plaintext.count == 64)
                let opened = try await fhird.decrypt(
                    .make { $0.ciphertextBlob = dataKey.ciphertextBlob; $0.encryptionContext = context }, options: .kmsTest)
                #expect(opened.plaintext == dataKey.plaintext)
                try await expectKMSError(.permissionDenied, "AccessDeniedException", "Encrypt is not in the grant") {
                    try await fhird.encrypt(.make { $0.keyID = key.keyID; $0.plaintext = Data("x".utf8) }, options: .kmsTest)
                }
            }

            // app naming someone else: refused and audited.
            let impersonationID = kmsRequestID("seed-impersonation")
            try await system.withClient(as: "app") { app in
                try await expectKMSError(.permissionDenied, "AccessDeniedException", "app sending on-behalf-of") {
                    try await app.generateDataKey(
                        .make { $0.keyID = key.keyID; $0.keySpec = "AES_256"; $0.encryptionContext = context },
                        metadata: .kms(requestID: impersonationID, onBehalfOf: P.someoneElse), options: .kmsTest)
                }
            }

            try await system.withClient(as: "admin") { admin in
                let grants = try await admin.listGrants(.make { $0.keyID = key.keyID }, options: .kmsTest).grants
                #expect(grants.count == 1)
                if let listed = grants.first {
                    #expect(listed.grantID == grant.grantID)
                    #expect(listed.granteePrincipal == P.healthLake)
                    #expect(listed.retiringPrincipal == P.healthLake)
                    #expect(Set(listed.operations) == ["Decrypt", "GenerateDataKey", "DescribeKey", "RetireGrant"])
                    // As AWS lists grants: the key's ARN and the issuing account's root ARN.
                    #expect(listed.keyID == key.arn)
                    #expect(listed.issuingAccount == "arn:aws:iam::\(P.account):root")
                }

                let createGrants = try await kmsLookupAllEvents(admin, eventName: "CreateGrant")
                let grantEvent = createGrants.first { $0.requestID == grantID }
                #expect(grantEvent != nil, "no CreateGrant event with requestID \(grantID) in \(createGrants)")
                if let grantEvent {
                    #expect(grantEvent.invokedBy == P.healthLake, "\(grantEvent)")
                    #expect(grantEvent.userARN == P.app, "\(grantEvent)")
                    #expect(grantEvent.errorCode == nil, "\(grantEvent)")
                    #expect(grantEvent.requestParameters["granteePrincipal"] == P.healthLake, "\(grantEvent)")
                }

                let dataKeyEvents = try await kmsLookupAllEvents(admin, eventName: "GenerateDataKey")
                let viaEvent = dataKeyEvents.first { $0.requestID == viaID }
                #expect(viaEvent != nil, "no GenerateDataKey event with requestID \(viaID)")
                if let viaEvent {
                    #expect(viaEvent.invokedBy == P.healthLake, "\(viaEvent)")
                    #expect(viaEvent.userARN == P.app, "\(viaEvent)")
                    #expect(viaEvent.errorCode == nil, "\(viaEvent)")
                    #expect(viaEvent.username == P.app)
                    let missing = Self.cloudTrailFields.subtracting(viaEvent.fields)
                    #expect(missing.isEmpty, "CloudTrail fields missing: \(missing.sorted())\n\(viaEvent)")
                }
                let directEvent = dataKeyEvents.first { $0.requestID == directID }
                #expect(directEvent != nil, "no GenerateDataKey event with requestID \(directID)")
                if let directEvent {
                    #expect(directEvent.errorCode == "AccessDeniedException", "\(directEvent)")
                    #expect(directEvent.invokedBy == nil, "\(directEvent)")
                    #expect(directEvent.userARN == P.app, "\(directEvent)")
                    #expect(directEvent.fields.contains("errorMessage"), "\(directEvent)")
                }
                let impersonation = dataKeyEvents.first { $0.requestID == impersonationID }
                #expect(impersonation != nil, "the refused on-behalf-of call (\(impersonationID)) was not audited")
                if let impersonation {
                    #expect(impersonation.errorCode == "AccessDeniedException", "\(impersonation)")
                    #expect(impersonation.userARN == P.app, "the event must name the real caller\n\(impersonation)")
                    #expect(impersonation.invokedBy == nil, "\(impersonation)")
                    #expect(impersonation.document.contains(P.someoneElse), "the claimed principal should be recorded\n\(impersonation)")
                }

                // kms.proto documents an "EventId" lookup attribute.
                if let viaEvent {
                    #expect(!viaEvent.eventID.isEmpty)
                    let page = try await admin.lookupEvents(
                        .make { $0.lookupAttributes = [.make { $0.attributeKey = "EventId"; $0.attributeValue = viaEvent.eventID }] },
                        options: .kmsTest)
                    #expect(page.events.map(\.eventID) == [viaEvent.eventID])
                }

                // No event anywhere holds the data key.
                let everything = try await kmsLookupAllEvents(admin)
                #expect(everything.count >= 10)
                for secret in kmsEncodings(of: dataKey.plaintext) {
                    let leaks = everything.filter { $0.document.contains(secret) }
                    #expect(leaks.isEmpty, "data key plaintext appears in \(leaks.count) audit events: \(leaks.map(\.eventName))")
                }
                try await expectAuditChainValid(admin)
            }
            #expect(await system.stop() == 0, "\(system.devUp.transcript)")
        }
    }
}

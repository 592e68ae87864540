import ArgumentParser
import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import SwiftProtobuf

/// `keylake demo`: the seed document's story end to end, on real kmsd and fhird processes over
/// mTLS, in a temporary home; stops both daemons and removes the home afterwards.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the end-to-end demo: a customer-managed key, HealthLake datastores, grant revocation, audit.",
        discussion: """
            Needs no set-up and leaves nothing running. Each step says what it does and what it proves; \
            a failing step stops the demo with exit status 1 and the reason.
            """)

    @Option(name: .long, help: "Home directory to use and keep (default: a temporary one, removed afterwards).")
    var dir: String?

    func run() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let directory =
            self.dir
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("keylake-demo-\(UUID().uuidString.prefix(8))").path
        var demo = Demo()
        var failure: (any Error)?
        do {
            try await demo.run(directory: directory)
        } catch {
            failure = error
        }
        // Step 7 (second half) runs whatever happened: nothing may be left running.
        await demo.stopDaemons()
        if self.dir == nil {
            try? FileManager.default.removeItem(atPath: directory)
        }
        if let failure {
            let reason = (failure as? DemoFailure)?.description ?? "\(failure)"
            Terminal.error("\ndemo FAILED at step \(demo.currentStep): \(reason)\n")
            throw ExitCode(1)
        }
        if self.dir == nil {
            DemoOutput.proves("both daemons stopped; temporary home \(directory) removed")
        } else {
            DemoOutput.proves("both daemons stopped; home kept at \(directory)")
        }
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("\nfinished in \(String(format: "%.1f", seconds)) s")
        print("demo complete: all steps passed")
    }
}

/// The demo's state across steps.
struct Demo {
    typealias KMS = Keylake_Kms_V1_KeyManagementService.Client<KeylakeClientTransport>
    typealias HealthLake = Keylake_Healthlake_V1_HealthLakeService.Client<KeylakeClientTransport>

    static let rootStatement = #"""
        {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}
        """#
    /// The key-policy statement of the HealthLake page this project mirrors, exactly as printed
    /// there. Its principal, `arn:aws:iam::111122223333:HealthLakeFullAccessRole`, is not a valid
    /// IAM principal (a role ARN is `…:role/NAME`): AWS refuses the policy, and so does kmsd.
    static let pageStatementAsPrinted = #"""
        {"Sid":"Allow access to create data stores and do CRUD/search in Amazon HealthLake","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:HealthLakeFullAccessRole"},"Action":["kms:DescribeKey","kms:CreateGrant","kms:GenerateDataKey","kms:Decrypt"],"Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"healthlake.amazonaws.com","kms:CallerAccount":"111122223333"}}}
        """#
    /// The page's statement with only its principal corrected to the role's ARN.
    static let seedStatement = pageStatementAsPrinted.replacingOccurrences(
        of: #""arn:aws:iam::111122223333:HealthLakeFullAccessRole""#, with: #""arn:aws:iam::111122223333:role/HealthLakeFullAccessRole""#)
    static func keyPolicy(_ statement: String) -> String {
        #"{"Version":"2012-10-17","Id":"keylake-demo","Statement":["# + rootStatement + "," + statement + "]}"
    }
    static var keyPolicy: String { Self.keyPolicy(Self.seedStatement) }

    private(set) var currentStep = 0
    private var daemons: [ChildDaemon] = []

    mutating func run(directory: String) async throws {
        // 1. Home and daemons.
        self.currentStep = 1
        DemoOutput.step(1, "Create a home and start kmsd and fhird as separate processes")
        let home: DevHome
        let isNewHome = !DevHome.exists(at: directory)
        do {
            home = try DevHome.openOrCreate(at: directory)
        } catch {
            throw DemoFailure("cannot create the home at \(directory): \(error)")
        }
        DemoOutput.line("home: \(home.directory) (dev PKI, kmsd root key, configuration, SQLite stores)")
        // kmsd first: fhird connects to it.
        let started = try await home.startDaemons(
            executable: ChildDaemon.currentExecutable, extraArguments: ["--log-level", "error"], echo: false,
            choosePortsAgain: isNewHome)
        self.daemons = started.daemons
        for (daemon, address) in zip(started.daemons, started.addresses) {
            DemoOutput.line("\(daemon.name) (pid \(daemon.pid)) ready on \(address), mTLS 1.3")
        }
        DemoOutput.proves("the key service and the data service run as separate processes, each with its own certificate")

        try await withDemoClient(home, .kmsd, as: "admin") { adminClient in
            try await withDemoClient(home, .kmsd, as: "app") { appKMSClient in
                try await withDemoClient(home, .fhird, as: "app") { appFHIRClient in
                    try await self.story(
                        home: home, admin: KMS(wrapping: adminClient), appKMS: KMS(wrapping: appKMSClient),
                        app: HealthLake(wrapping: appFHIRClient))
                }
            }
        }
    }

    private mutating func story(home: DevHome, admin: KMS, appKMS: KMS, app: HealthLake) async throws {
        let appPrincipal = "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"
        let servicePrincipal = "healthlake.amazonaws.com"

        // 2. The customer's key.
        self.currentStep = 2
        DemoOutput.step(2, "As the key administrator (arn:aws:iam::111122223333:root): create a customer-managed key and its policy")
        let key = try await demoCall("CreateKey") {
            try await admin.createKey(.with { $0.description_p = "keylake demo: customer-managed key for HealthLake" }, options: .cli)
        }.keyMetadata
        DemoOutput.line("CreateKey -> \(key.arn) (KeyManager \(key.keyManager), \(key.keyState))")
        // The page's statement as printed names an invalid principal: refused, as AWS refuses it.
        let asPrinted = Self.keyPolicy(Self.pageStatementAsPrinted)
        do {
            _ = try await admin.putKeyPolicy(
                .with { $0.keyID = key.keyID; $0.policyName = "default"; $0.policy = asPrinted }, options: .cli)
            throw DemoFailure("PutKeyPolicy accepted the page's statement with the invalid principal")
        } catch let error as RPCError {
            let failure = DemoCallFailure(error)
            guard failure.name == "MalformedPolicyDocumentException" else { throw DemoFailure("PutKeyPolicy: \(failure.name): \(failure.message)") }
            DemoOutput.line("PutKeyPolicy with the page's statement as printed -> MalformedPolicyDocumentException:")
            DemoOutput.line("  \(failure.message)")
        }
        let policy = Self.keyPolicy
        _ = try await demoCall("PutKeyPolicy") {
            try await admin.putKeyPolicy(.with { $0.keyID = key.keyID; $0.policyName = "default"; $0.policy = policy }, options: .cli)
        }
        DemoOutput.line("PutKeyPolicy -> root statement + the page's statement, its principal corrected to")
        DemoOutput.line("  arn:aws:iam::111122223333:role/HealthLakeFullAccessRole (a role ARN names role/; nothing else changed):")
        DemoOutput.line("  HealthLakeFullAccessRole may DescribeKey, CreateGrant, GenerateDataKey and Decrypt only with")
        DemoOutput.line("  kms:ViaService = healthlake.amazonaws.com and kms:CallerAccount = 111122223333")
        DemoOutput.proves("the customer owns the key and decides, in its policy, who may use it and through which service")

        // 3. Datastores, the grant, and direct use denied.
        self.currentStep = 3
        DemoOutput.step(3, "As HealthLakeFullAccessRole: create two datastores, one per kind of key")
        let serviceOwned = try await demoCall("CreateFHIRDatastore (service-owned key)") {
            try await app.createFHIRDatastore(
                .with {
                    $0.datastoreName = "demo-service-owned"
                    $0.sseConfiguration.kmsEncryptionConfig.cmkType = .awsOwnedKmsKey
                }, options: .cli)
        }
        DemoOutput.line("datastore \(serviceOwned.datastoreID): AWS_OWNED_KMS_KEY, \(serviceOwned.datastoreStatus)")
        let customer = try await demoCall("CreateFHIRDatastore (customer-managed key)") {
            try await app.createFHIRDatastore(
                .with {
                    $0.datastoreName = "demo-customer-managed"
                    $0.sseConfiguration.kmsEncryptionConfig.cmkType = .customerManagedKmsKey
                    $0.sseConfiguration.kmsEncryptionConfig.kmsKeyID = key.arn
                }, options: .cli)
        }
        DemoOutput.line("datastore \(customer.datastoreID): CUSTOMER_MANAGED_KMS_KEY \(key.keyID), \(customer.datastoreStatus)")
        let grants = try await demoCall("ListGrants") {
            try await admin.listGrants(.with { $0.keyID = key.keyID }, options: .cli)
        }.grants
        guard let grant = grants.first(where: { $0.granteePrincipal == servicePrincipal && $0.name.hasSuffix(customer.datastoreID) })
        else {
            throw DemoFailure("ListGrants shows no grant to \(servicePrincipal) for datastore \(customer.datastoreID): \(grants)")
        }
        DemoOutput.line("ListGrants (admin) -> grant \(grant.grantID) \"\(grant.name)\"")
        DemoOutput.line("  grantee \(grant.granteePrincipal), retiring \(grant.retiringPrincipal)")
        DemoOutput.line("  operations \(grant.operations.joined(separator: ","))")
        DemoOutput.proves("grant created: the data service created a grant for itself on the customer's key, on behalf of the role")
        let denied = try await DemoCallFailure.expect("AccessDeniedException", "app calling GenerateDataKey on kmsd directly") {
            try await appKMS.generateDataKey(
                .with {
                    $0.keyID = key.arn
                    $0.keySpec = "AES_256"
                    $0.encryptionContext = ["aws:healthlake:datastore-id": customer.datastoreID]
                }, options: .cli)
        }
        DemoOutput.line("GenerateDataKey as \(appPrincipal) directly -> \(denied.name): \(denied.message)")
        DemoOutput.proves("direct use denied: the role can use the key only through the data service (kms:ViaService)")

        // 4. Data.
        self.currentStep = 4
        let patients = DemoSamplePatients.resources
        DemoOutput.step(4, "Load \(patients.count) Synthea patients into both datastores, read one back, search by family name")
        let datastores = [("service-owned", serviceOwned.datastoreID), ("customer-managed", customer.datastoreID)]
        var created: [String: [String]] = [:]
        for (label, datastoreID) in datastores {
            for (index, patient) in patients.enumerated() {
                let response = try await demoCall("CreateResource Patient into \(label)") {
                    try await app.createResource(.with { $0.datastoreID = datastoreID; $0.resource = Data(patient.utf8) }, options: .cli)
                }
                created[datastoreID, default: []].append(response.id)
                DemoOutput.line("[\(label)] Patient \(index + 1)/\(patients.count) stored as \(response.id) (version \(response.versionID))")
            }
        }
        let family = DemoSamplePatients.familyNames[0]
        for (label, datastoreID) in datastores {
            let id = created[datastoreID]![0]
            let read = try await demoCall("ReadResource on \(label)") {
                try await app.readResource(.with { $0.datastoreID = datastoreID; $0.resourceType = "Patient"; $0.id = id }, options: .cli)
            }
            guard String(decoding: read.resource, as: UTF8.self).contains(family) else {
                throw DemoFailure("the patient read back from \(label) does not have the family name \(family)")
            }
            let found = try await demoCall("SearchResources on \(label)") {
                try await app.searchResources(
                    .with {
                        $0.datastoreID = datastoreID
                        $0.resourceType = "Patient"
                        $0.parameters = [.with { $0.name = "family"; $0.value = family }]
                    }, options: .cli)
            }
            guard found.ids.contains(id) else {
                throw DemoFailure("searching \(label) for family=\(family) did not find \(id): \(found.ids)")
            }
            DemoOutput.line("[\(label)] read Patient/\(id): family \(family); search family=\(family) -> \(found.ids.count) match")
        }
        DemoOutput.proves("data written, read and searched in both datastores; every data key came from kmsd")

        // 5. Revocation.
        self.currentStep = 5
        DemoOutput.step(5, "As the key administrator: revoke the data service's grant")
        _ = try await demoCall("RevokeGrant") {
            try await admin.revokeGrant(.with { $0.keyID = key.keyID; $0.grantID = grant.grantID }, options: .cli)
        }
        DemoOutput.line("RevokeGrant \(grant.grantID) -> done")
        let expected = "KmsKeyAccessDeniedException"
        let cmk = customer.datastoreID
        let cmkPatient = created[cmk]![0]
        let readFailure = try await DemoCallFailure.expect(expected, "reading from the customer-managed datastore after revocation") {
            try await app.readResource(.with { $0.datastoreID = cmk; $0.resourceType = "Patient"; $0.id = cmkPatient }, options: .cli)
        }
        DemoOutput.line("[customer-managed] read   -> \(readFailure.name): \(readFailure.message)")
        let writeFailure = try await DemoCallFailure.expect(expected, "writing to the customer-managed datastore after revocation") {
            try await app.createResource(.with { $0.datastoreID = cmk; $0.resource = Data(patients[1].utf8) }, options: .cli)
        }
        DemoOutput.line("[customer-managed] write  -> \(writeFailure.name): \(writeFailure.message)")
        let searchFailure = try await DemoCallFailure.expect(expected, "searching the customer-managed datastore after revocation") {
            try await app.searchResources(
                .with {
                    $0.datastoreID = cmk
                    $0.resourceType = "Patient"
                    $0.parameters = [.with { $0.name = "family"; $0.value = family }]
                }, options: .cli)
        }
        DemoOutput.line("[customer-managed] search -> \(searchFailure.name): \(searchFailure.message)")
        DemoOutput.proves("access lost after revocation: the customer-managed datastore fails with \(expected)")
        let owned = serviceOwned.datastoreID
        let ownedPatient = created[owned]![0]
        _ = try await demoCall("reading from the service-owned datastore after revocation") {
            try await app.readResource(.with { $0.datastoreID = owned; $0.resourceType = "Patient"; $0.id = ownedPatient }, options: .cli)
        }
        let written = try await demoCall("writing to the service-owned datastore after revocation") {
            try await app.createResource(.with { $0.datastoreID = owned; $0.resource = Data(patients[1].utf8) }, options: .cli)
        }
        let stillFound = try await demoCall("searching the service-owned datastore after revocation") {
            try await app.searchResources(
                .with {
                    $0.datastoreID = owned
                    $0.resourceType = "Patient"
                    $0.parameters = [.with { $0.name = "family"; $0.value = family }]
                }, options: .cli)
        }
        DemoOutput.line("[service-owned]    read ok, write ok (Patient/\(written.id)), search -> \(stillFound.ids.count) match")
        DemoOutput.proves("the service-owned datastore still works: revocation affects only the customer's key")

        let dataDirectory = "\(home.directory)/data/fhird"
        let files = demoFiles(below: dataDirectory)
        let names = Self.patientNames(patients)
        var leaks: [String] = []
        for (path, data) in files {
            for name in names where data.range(of: Data(name.utf8)) != nil {
                leaks.append("\(name) in \(path)")
            }
        }
        let bytes = files.reduce(0) { $0 + $1.data.count }
        DemoOutput.line("scanned \(files.count) files (\(bytes) bytes) under \(dataDirectory) for \(names.joined(separator: ", "))")
        guard files.count > 0 else { throw DemoFailure("no data files under \(dataDirectory)") }
        guard leaks.isEmpty else { throw DemoFailure("patient names found on disk: \(leaks.joined(separator: "; "))") }
        DemoOutput.proves("no patient name on disk: the raw database files hold only ciphertext")

        // 6. Audit.
        self.currentStep = 6
        DemoOutput.step(6, "As the key administrator: the audit trail of the customer's key (LookupEvents, ResourceName = key)")
        // Oldest first, as the story happened.
        let events = try await auditEventsOldestFirst(keyARN: key.arn, pageSize: 50) { request in
            try await demoCall("LookupEvents") { try await admin.lookupEvents(request, options: .cli) }
        }
        let rows = events.map(DemoAuditRow.init)
        for line in DemoAuditRow.table(rows) { DemoOutput.line(line) }
        let seen = Set(rows.map(\.eventName))
        let missing = ["CreateGrant", "DescribeKey", "GenerateDataKey", "Decrypt", "RevokeGrant"].filter { !seen.contains($0) }
        guard missing.isEmpty else { throw DemoFailure("the audit trail lacks \(missing.joined(separator: ", "))") }
        let deniedRows = rows.filter { $0.errorCode == "AccessDeniedException" }
        guard deniedRows.contains(where: { $0.userARN == appPrincipal && $0.invokedBy == "-" }) else {
            throw DemoFailure("the audit trail does not show the role's denied direct call")
        }
        guard deniedRows.contains(where: { $0.eventName == "GenerateDataKey" || $0.eventName == "Decrypt" }) else {
            throw DemoFailure("the audit trail does not show the data service's denied calls after revocation")
        }
        DemoOutput.line("\(events.count) events; \(deniedRows.count) denied (AccessDeniedException)")
        let chain = try await demoCall("VerifyAuditChain") { try await admin.verifyAuditChain(.init(), options: .cli) }
        guard chain.valid else {
            throw DemoFailure("audit chain BROKEN at event \(chain.firstBadSequence): \(chain.problem)")
        }
        DemoOutput.line("VerifyAuditChain -> valid, \(chain.eventsChecked) events checked")
        DemoOutput.proves("audit chain intact: every use of the key, by whom and via which service, including the denials")

        // 7. Clean up.
        self.currentStep = 7
        DemoOutput.step(7, "Delete the datastores and stop both daemons")
        for (label, datastoreID) in datastores {
            let deleted = try await demoCall("DeleteFHIRDatastore \(label)") {
                try await app.deleteFHIRDatastore(.with { $0.datastoreID = datastoreID }, options: .cli)
            }
            DemoOutput.line("[\(label)] datastore \(datastoreID) -> \(deleted.datastoreStatus)")
        }
    }

    /// Stops the daemons started so far: SIGTERM, then SIGKILL for any still running after 20 s.
    mutating func stopDaemons() async {
        for daemon in self.daemons { daemon.terminate() }
        for daemon in self.daemons {
            if let status = await daemon.waitForExit(timeout: .seconds(20)) {
                DemoOutput.line("\(daemon.name) (pid \(daemon.pid)) stopped, exit status \(status)")
            } else {
                daemon.kill()
                _ = await daemon.waitForExit(timeout: .seconds(5))
                DemoOutput.line("\(daemon.name) (pid \(daemon.pid)) did not stop on SIGTERM; killed")
            }
        }
        self.daemons = []
    }

    /// Every family and given name of `patients`.
    static func patientNames(_ patients: [String]) -> [String] {
        var names: [String] = []
        for patient in patients {
            guard let object = try? JSONSerialization.jsonObject(with: Data(patient.utf8)) as? [String: Any],
                let entries = object["name"] as? [[String: Any]]
            else { continue }
            for entry in entries {
                if let family = entry["family"] as? String { names.append(family) }
                names += entry["given"] as? [String] ?? []
            }
        }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}

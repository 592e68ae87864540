import Foundation
import GRDB

@testable import KMS

/// A key service on a fresh database with a manual clock, and the callers the tests use.
struct KeyServiceFixture {
    static let account = "111122223333"
    static let root = "arn:aws:iam::111122223333:root"
    static let healthLakeRole = "arn:aws:iam::111122223333:role/HealthLakeFullAccessRole"
    static let adminRole = "arn:aws:iam::111122223333:role/Admin"
    static let outsider = "arn:aws:iam::444455556666:role/Outsider"
    static let healthLake = "healthlake.amazonaws.com"
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    let directory: TemporaryDirectory
    let path: String
    let rootKey: RootKey
    let clock: ManualWallClock
    let service: KeyService

    init(configure: (inout KeyServiceConfiguration) -> Void = { _ in }) throws {
        self.directory = try TemporaryDirectory()
        self.path = self.directory.file("kms.sqlite")
        self.rootKey = try RootKey(bytes: [UInt8](repeating: 0x42, count: 32))
        self.clock = ManualWallClock(start: Self.start)
        var configuration = KeyServiceConfiguration(
            identity: try KeyServiceIdentity(region: "us-east-1", accountID: Self.account),
            servicePrincipals: [Self.healthLake]
        )
        configure(&configuration)
        self.service = try KeyService(path: self.path, rootKey: self.rootKey, configuration: configuration, clock: self.clock)
    }

    /// A direct call from `principal`.
    static func caller(_ principal: String, onBehalfOf: String? = nil) -> CallerContext {
        CallerContext(
            principal: principal,
            onBehalfOf: onBehalfOf,
            requestID: UUID().uuidString,
            sourceIPAddress: "10.0.0.1",
            userAgent: "kms-tests"
        )
    }

    static var rootCaller: CallerContext { Self.caller(Self.root) }

    /// HealthLake acting on behalf of the HealthLake role.
    static var healthLakeForRole: CallerContext { Self.caller(Self.healthLake, onBehalfOf: Self.healthLakeRole) }

    /// HealthLake acting for itself.
    static var healthLakeItself: CallerContext { Self.caller(Self.healthLake) }

    /// The seed document's policy for this fixture's account.
    static let seedPolicy = PolicyFixtures.seedPolicy

    /// Every audit document, oldest first.
    func auditDocuments() throws -> [String] {
        try self.service.store.database.read { db in
            try String.fetchAll(db, sql: "SELECT document FROM audit_event ORDER BY sequence")
        }
    }

    /// The parsed audit events, oldest first.
    func auditEvents() throws -> [[String: Any]] {
        try self.auditDocuments().map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// A direct connection to the same file, for tampering.
    func rawDatabase() throws -> DatabaseQueue {
        try DatabaseQueue(path: self.path)
    }

    func remove() { self.directory.remove() }
}

/// Runs `body` and returns the ``KMSError`` code it throws, or `nil` if it succeeds.
func errorCode(_ body: () async throws -> Void) async -> KMSError.Code? {
    do {
        try await body()
        return nil
    } catch let error as KMSError {
        return error.code
    } catch {
        return .internalFailure
    }
}

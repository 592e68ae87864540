import DataStore
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension FHIRService {
    /// Processes a FHIR `batch` or `transaction` Bundle and returns the `batch-response` or
    /// `transaction-response` Bundle JSON, one response entry per request entry, in order.
    ///
    /// A **batch** processes its entries independently (concurrently, at most
    /// ``FHIRServiceSettings/bundleConcurrency`` at a time, each as the single-resource call
    /// would); each response entry has its own status (`201 Created`, `200 OK`, `404 Not
    /// Found`, …) and, on failure, an `OperationOutcome`.
    ///
    /// A **transaction** is all or nothing. Its POST entries get server ids, and every
    /// `Reference.reference` equal to an entry's `fullUrl` (a `urn:uuid:` or any other) is
    /// rewritten to that entry's `Type/id`; a `urn:uuid:` reference to no entry is an error.
    /// Entries are processed in FHIR's order (DELETE, POST, PUT, GET): versions and If-Match
    /// are checked, the index key unwrapped once, every version sealed under fresh data keys
    /// (requested concurrently, bounded as above), GETs read, and only then are all versions and
    /// their blind tokens written in one database transaction. Any failure — validation, key
    /// access, version conflict — writes nothing, and the error names the entry.
    ///
    /// - Parameter authorize: Called once the Bundle is parsed, before anything is read or
    ///   written, with the operations its entries need (`CreateResource` for POST,
    ///   `UpdateResource` for PUT, `DeleteResource` for DELETE, `ReadResource` or
    ///   `VReadResource` for GET), so a caller cannot do through a Bundle what it may not do
    ///   directly; it throws to refuse.
    /// - Throws: ``HealthLakeError`` (or a domain error ``HealthLakeError/init(_:)`` classifies)
    ///   for a Bundle that is rejected as a whole, an inactive datastore, or a failed transaction;
    ///   whatever `authorize` throws.
    public func processBundle(
        datastoreID: String, json: [UInt8], authorize: @Sendable (Set<String>) throws -> Void = { _ in }
    ) async throws -> [UInt8] {
        let record = try self.activeDatastore(datastoreID)
        let bundle = try FHIRBundle.parse(json, table: self.table, limits: self.settings.bundleLimits)
        try authorize(Set(bundle.entries.compactMap { entry in (try? entry.action.get()).map(Self.operation) }))
        switch bundle.kind {
        case .batch: return Self.responseBundle(.batch, try await self.batch(bundle, record: record))
        case .transaction: return try await self.transaction(bundle, record: record)
        }
    }

    /// The response Bundle's JSON.
    private static func responseBundle(_ kind: FHIRBundle.Kind, _ entries: [JSONValue]) -> [UInt8] {
        let response: JSONObject = ["resourceType": .string("Bundle"), "type": .string(kind.responseType), "entry": .array(entries)]
        return response.serialized()
    }

    // MARK: - Batch

    private func batch(_ bundle: FHIRBundle, record: DatastoreRecord) async throws -> [JSONValue] {
        var entries = try await self.boundedMap(bundle.entries, concurrency: self.settings.bundleConcurrency) { entry in
            await self.batchEntry(entry, datastoreID: record.id)
        }
        // Keep the response within its limit: GET entries whose resource no longer fits are
        // answered with an OperationOutcome instead (the writes are done and stay answered).
        let limit = self.settings.bundleLimits.maximumResponseBytes
        var size = Self.responseBundle(.batch, []).count
        for position in entries.indices {
            var entrySize = entries[position].serialized().count + 1
            if size + entrySize > limit, entries[position].objectValue?["resource"] != nil {
                let error = HealthLakeError(
                    code: .validation,
                    message: "entry \(position): the resource does not fit in the batch-response (limit \(limit) bytes); read it on its own or split the batch",
                    outcome: OperationOutcome(
                        code: .tooCostly,
                        diagnostics: "entry \(position): the resource does not fit in the batch-response (limit \(limit) bytes); read it on its own or split the batch",
                        expression: ["Bundle.entry[\(position)]"]))
                entries[position] = Self.failureEntry(error)
                entrySize = entries[position].serialized().count + 1
            }
            size += entrySize
        }
        return entries
    }

    /// One batch entry's response; failures become the entry's status and outcome.
    private func batchEntry(_ entry: FHIRBundle.Entry, datastoreID: String) async -> JSONValue {
        let action: FHIRBundle.Action
        switch entry.action {
        case .failure(let error):
            return Self.failureEntry(HealthLakeError(error))
        case .success(let success):
            action = success
        }
        do {
            switch action {
            case .create(let resource):
                let resolved = try Self.resolving(resource, [:], entry: entry, batch: true)
                let stored = try await self.create(datastoreID: datastoreID, json: resolved.serialized())
                return Self.responseEntry(status: "201 Created", stored)
            case .update(let type, let id, let resource, let ifMatch):
                let resolved = try Self.resolving(resource, [:], entry: entry, batch: true)
                let stored = try await self.update(datastoreID: datastoreID, resourceType: type.name, id: id, json: resolved.serialized(), ifMatch: ifMatch)
                return Self.responseEntry(status: stored.created ? "201 Created" : "200 OK", stored)
            case .delete(let type, let id):
                let version = try await self.delete(datastoreID: datastoreID, resourceType: type.name, id: id)
                return Self.deleteEntry(version: version)
            case .read(let type, let id, let versionID):
                let stored = try await self.read(datastoreID: datastoreID, resourceType: type.name, id: id, versionID: versionID.map(String.init))
                return Self.responseEntry(status: "200 OK", stored, includeResource: true)
            }
        } catch {
            return Self.failureEntry(HealthLakeError(error).about(entry: entry.index, request: Self.describe(action)))
        }
    }

    // MARK: - Transaction

    /// What a transaction entry will do, worked out before anything is written.
    private enum Plan: Sendable {
        /// Write this version (a create, an update, or a deletion).
        case write(ResourceWrite?, stored: StoredResource, created: Bool)
        /// Delete of something absent or already deleted: nothing to write.
        case nothingToDelete
        /// A read, answered with this resource.
        case read(StoredResource)
    }

    /// A version to seal: the entry, its target, the resource with server-managed elements.
    private struct PendingVersion: Sendable {
        var position: Int
        var resource: FHIRResource
        var id: String
        var version: Int
        var created: Bool
    }

    private func transaction(_ bundle: FHIRBundle, record: DatastoreRecord) async throws -> [UInt8] {
        // The parser rejected every transaction with a failed entry; the actions are all there.
        let actions: [FHIRBundle.Action] = try bundle.entries.map { try $0.action.get() }
        let order = bundle.entries.indices.sorted {
            (actions[$0].method.transactionOrder, $0) < (actions[$1].method.transactionOrder, $1)
        }

        // Server ids for creates, and the references every fullUrl stands for.
        let (assignedIDs, targets) = Self.referenceTargets(bundle, actions: actions)

        // Versions, If-Match, reference resolution: in processing order, nothing sealed yet.
        let lastUpdated = Self.now()
        var pending: [PendingVersion] = []
        var plans: [Int: Plan] = [:]
        var written: [String: Int] = [:]  // Type/id -> position of the entry writing it
        for position in order {
            let entry = bundle.entries[position]
            let action = actions[position]
            do {
                switch action {
                case .create(let resource):
                    let resolved = try Self.resolving(resource, targets, entry: entry, batch: false)
                    pending.append(PendingVersion(position: position, resource: resolved, id: assignedIDs[position]!, version: 1, created: true))
                    written["\(resource.resourceType.name)/\(assignedIDs[position]!)"] = position
                case .update(let type, let id, let resource, let ifMatch):
                    let resolved = try Self.resolving(resource, targets, entry: entry, batch: false)
                    let current = try self.store.currentVersion(datastoreID: record.id, resourceType: type, resourceID: id)
                    if let ifMatch, !ifMatch.isEmpty {
                        let expected = String(try Self.expectedVersion(ifMatch: ifMatch))
                        guard let current, !current.isDeleted, String(current.versionID) == expected else {
                            throw DataStoreError(
                                code: .versionConflict,
                                message: "\(type.name)/\(id) is at version \(current.map { String($0.versionID) } ?? "none"), not \(expected)")
                        }
                    }
                    let created = current == nil || current?.isDeleted == true
                    pending.append(PendingVersion(position: position, resource: resolved, id: id, version: (current?.versionID ?? 0) + 1, created: created))
                    written["\(type.name)/\(id)"] = position
                case .delete(let type, let id):
                    guard let current = try self.store.currentVersion(datastoreID: record.id, resourceType: type, resourceID: id), !current.isDeleted
                    else {
                        plans[position] = .nothingToDelete
                        continue
                    }
                    let version = current.versionID + 1
                    let write = ResourceWrite(
                        datastoreID: record.id, resourceType: type, resourceID: id, versionID: version, lastUpdated: lastUpdated,
                        content: .deleted, tokens: [])
                    let stored = StoredResource(json: [], resourceType: type, id: id, versionID: version, lastUpdated: lastUpdated, created: false)
                    plans[position] = .write(write, stored: stored, created: false)
                    written["\(type.name)/\(id)"] = position
                case .read:
                    break  // after the writes are prepared
                }
            } catch {
                throw HealthLakeError(error).about(entry: position, request: Self.describe(action))
            }
        }

        // Every write needs the index key: unwrapped once, now (a revoked key stops here).
        let index = try await self.index(for: record)

        // Seal every version under fresh data keys, a bounded number at a time.
        let sealed = try await self.boundedMap(pending, concurrency: self.settings.bundleConcurrency) { version in
            do {
                return try await self.seal(version, record: record, index: index, lastUpdated: lastUpdated)
            } catch {
                throw HealthLakeError(error).about(entry: version.position, request: Self.describe(actions[version.position]))
            }
        }
        for (version, result) in zip(pending, sealed) {
            plans[version.position] = .write(result.write, stored: result.stored, created: version.created)
        }

        // GETs see the transaction's own writes; other resources are read (and decrypted) now,
        // so a failed read fails the transaction before anything is written.
        let reads: [(position: Int, type: FHIRResourceType, id: String, versionID: Int?)] = order.compactMap { position in
            if case .read(let type, let id, let versionID) = actions[position] { return (position, type, id, versionID) }
            return nil
        }
        let writtenSoFar = written, plansSoFar = plans
        let readResults = try await self.boundedMap(reads, concurrency: self.settings.bundleConcurrency) { read -> StoredResource in
            do {
                if let writer = writtenSoFar["\(read.type.name)/\(read.id)"], read.versionID == nil {
                    guard case .write(let write, let stored, _)? = plansSoFar[writer], write?.content.isDeletion == false else {
                        throw DataStoreError(code: .notFound, message: "\(read.type.name)/\(read.id) is deleted by entry \(writer)")
                    }
                    return stored
                }
                return try await self.read(datastoreID: record.id, resourceType: read.type.name, id: read.id, versionID: read.versionID.map(String.init))
            } catch {
                throw HealthLakeError(error).about(entry: read.position, request: Self.describe(actions[read.position]))
            }
        }
        for (read, stored) in zip(reads, readResults) { plans[read.position] = .read(stored) }

        // The response, known before anything is written; refused if it could not be sent.
        let response = Self.responseBundle(
            .transaction,
            bundle.entries.indices.map { position in
                switch plans[position]! {
                case .nothingToDelete:
                    return Self.deleteEntry(version: nil)
                case .write(let write, let stored, let created):
                    if write?.content.isDeletion == true { return Self.deleteEntry(version: stored.versionID) }
                    return Self.responseEntry(status: created ? "201 Created" : "200 OK", stored)
                case .read(let stored):
                    return Self.responseEntry(status: "200 OK", stored, includeResource: true)
                }
            })
        let limit = self.settings.bundleLimits.maximumResponseBytes
        guard response.count <= limit else {
            let message = "the transaction-response would be \(response.count) bytes, more than the limit of \(limit): split the transaction or read large resources separately"
            throw HealthLakeError(code: .validation, message: message, outcome: OperationOutcome(code: .tooCostly, diagnostics: message))
        }

        // One transaction, shared with concurrent writers but all or nothing for this Bundle.
        let writes: [ResourceWrite] = order.compactMap { position in
            if case .write(let write?, _, _)? = plans[position] { return write }
            return nil
        }
        do {
            try await self.store.groupCommit(writes)
        } catch let error as DataStoreError {
            if let resource = error.resource, let position = written[resource] {
                throw HealthLakeError(error).about(entry: position, request: Self.describe(actions[position]))
            }
            throw error
        }
        self.logger.debug("transaction committed", metadata: ["datastore": "\(record.id)", "entries": "\(bundle.entries.count)", "writes": "\(writes.count)"])
        return response
    }

    /// Seals one version under fresh data keys and extracts its tokens.
    private func seal(
        _ version: PendingVersion, record: DatastoreRecord, index: BlindIndex, lastUpdated: Int64
    ) async throws -> (write: ResourceWrite, stored: StoredResource) {
        let stored = version.resource.settingServerManagedElements(
            id: version.id, versionID: String(version.version), lastUpdated: FHIRInstant.format(millisecondsSince1970: lastUpdated))
        let plaintext = stored.serialized()
        guard plaintext.count <= self.settings.validationLimits.maximumResourceBytes else {
            throw FHIRValidationError(
                code: .tooLong, diagnostics: "the resource is \(plaintext.count) bytes; the limit is \(self.settings.validationLimits.maximumResourceBytes)")
        }
        let context = EncryptionContext(
            datastoreID: record.id, resourceType: stored.resourceType.name, resourceID: version.id, versionID: String(version.version))
        let sealed = try await self.cipher.seal(plaintext, context: context, layers: record.encryption.layers)
        let write = ResourceWrite(
            datastoreID: record.id, resourceType: stored.resourceType, resourceID: version.id, versionID: version.version,
            lastUpdated: lastUpdated, content: .sealed(sealed), tokens: index.extractTokens(from: stored))
        return (
            write,
            StoredResource(
                json: plaintext, resourceType: stored.resourceType, id: version.id, versionID: version.version, lastUpdated: lastUpdated,
                created: version.created)
        )
    }

    // MARK: - Helpers

    /// A transaction's server ids for its creates (by entry position) and the `Type/id` each
    /// entry's `fullUrl` stands for, which references to that `fullUrl` are rewritten to.
    /// `actions` are the entries' actions, in Bundle order.
    static func referenceTargets(
        _ bundle: FHIRBundle, actions: [FHIRBundle.Action], newID: () -> String = { UUID().uuidString.lowercased() }
    ) -> (assignedIDs: [Int: String], targets: [String: String]) {
        var assignedIDs: [Int: String] = [:]
        var targets: [String: String] = [:]
        for position in bundle.entries.indices {
            switch actions[position] {
            case .create(let resource):
                let id = newID()
                assignedIDs[position] = id
                if let fullUrl = bundle.entries[position].fullUrl { targets[fullUrl] = "\(resource.resourceType.name)/\(id)" }
            case .update(let type, let id, _, _):
                if let fullUrl = bundle.entries[position].fullUrl { targets[fullUrl] = "\(type.name)/\(id)" }
            case .delete, .read:
                break
            }
        }
        return (assignedIDs, targets)
    }

    /// The resource with references to the Bundle's fullUrls resolved; an unresolvable
    /// `urn:uuid:` (or `urn:oid:`) reference is a validation error naming the entry.
    static func resolving(_ resource: FHIRResource, _ targets: [String: String], entry: FHIRBundle.Entry, batch: Bool) throws -> FHIRResource {
        let (resolved, unresolved) = resource.resolvingReferences(targets)
        guard unresolved.isEmpty else {
            let why = batch ? "a batch's entries are independent, so references between them are not resolved" : "no entry has it as its fullUrl"
            throw HealthLakeError(
                code: .validation,
                message: "entry \(entry.index): reference \"\(unresolved[0].prefix(80))\" cannot be resolved: \(why)",
                outcome: OperationOutcome(
                    code: .notFound,
                    diagnostics: "entry \(entry.index): reference \"\(unresolved[0].prefix(80))\" cannot be resolved: \(why)",
                    expression: ["Bundle.entry[\(entry.index)].resource"]))
        }
        return resolved
    }

    /// The HealthLakeService operation an entry's action amounts to.
    static func operation(_ action: FHIRBundle.Action) -> String {
        switch action {
        case .create: "CreateResource"
        case .update: "UpdateResource"
        case .delete: "DeleteResource"
        case .read(_, _, let versionID): versionID == nil ? "ReadResource" : "VReadResource"
        }
    }

    /// `METHOD url` of an action, for messages.
    static func describe(_ action: FHIRBundle.Action) -> String {
        switch action {
        case .create(let resource): "POST \(resource.resourceType.name)"
        case .update(let type, let id, _, _): "PUT \(type.name)/\(id)"
        case .delete(let type, let id): "DELETE \(type.name)/\(id)"
        case .read(let type, let id, let versionID): "GET \(type.name)/\(id)" + (versionID.map { "/_history/\($0)" } ?? "")
        }
    }

    /// A successful response entry: status, location, etag, lastModified (and the resource for reads).
    private static func responseEntry(status: String, _ stored: StoredResource, includeResource: Bool = false) -> JSONValue {
        var entry: JSONObject = [:]
        if includeResource, let resource = try? JSONValue.parse(stored.json) {
            entry["fullUrl"] = .string("\(stored.resourceType.name)/\(stored.id)")
            entry["resource"] = resource
        }
        entry["response"] = .object([
            "status": .string(status),
            "location": .string("\(stored.resourceType.name)/\(stored.id)/_history/\(stored.versionID)"),
            "etag": .string("W/\"\(stored.versionID)\""),
            "lastModified": .string(FHIRInstant.format(millisecondsSince1970: stored.lastUpdated)),
        ])
        return .object(entry)
    }

    /// The response entry of a delete: its version's etag, or none when nothing was there.
    private static func deleteEntry(version: Int?) -> JSONValue {
        var response: JSONObject = ["status": .string("204 No Content")]
        if let version { response["etag"] = .string("W/\"\(version)\"") }
        return .object(["response": .object(response)])
    }

    /// A failed batch entry: the HTTP status for the error and its OperationOutcome.
    private static func failureEntry(_ error: HealthLakeError) -> JSONValue {
        .object(["response": .object(["status": .string(error.code.httpStatus), "outcome": .object(error.outcome.jsonObject)])])
    }

    /// Maps concurrently with at most `concurrency` transforms running at once, keeping order.
    func boundedMap<Element: Sendable, Result: Sendable>(
        _ elements: [Element], concurrency: Int, _ transform: @escaping @Sendable (Element) async throws -> Result
    ) async throws -> [Result] {
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var results = [Result?](repeating: nil, count: elements.count)
            var next = 0
            for _ in 0..<min(max(1, concurrency), elements.count) {
                let position = next, element = elements[position]
                group.addTask { (position, try await transform(element)) }
                next += 1
            }
            while let (position, result) = try await group.next() {
                results[position] = result
                if next < elements.count {
                    let position = next, element = elements[position]
                    group.addTask { (position, try await transform(element)) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }
}

extension ResourceWrite.Content {
    /// Whether this is a deletion.
    var isDeletion: Bool {
        if case .deleted = self { return true }
        return false
    }
}

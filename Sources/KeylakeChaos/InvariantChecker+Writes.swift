extension InvariantChecker {
    /// Invariant 2: acknowledged writes read back with their content; definitely failed writes
    /// left nothing visible.
    func checkWrites(_ history: ChaosHistory) -> InvariantResult {
        let writes = history.operations.filter { $0.kind.isWrite && !$0.resourceID.isEmpty }
        let acknowledged = writes.filter(\.succeeded)
        let failedCreates = history.operations.filter { operation in
            (operation.kind == .create || operation.kind == .bundle) && operation.completed != nil && operation.errorName != nil && operation.marker != nil
                && !self.isIndeterminate(operation)
        }
        guard let verification = history.verification else {
            let involved = acknowledged.map(\.sequence) + failedCreates.map(\.sequence)
            let violations =
                involved.isEmpty
                ? []
                : [
                    InvariantViolation(
                        kind: "verification-missing", operations: Array(involved.prefix(20)),
                        message: "no post-run verification: \(acknowledged.count) acknowledged writes are unverified")
                ]
            return InvariantResult(invariant: .acknowledgedWritesDurable, applies: true, detail: "not verified", violations: violations)
        }
        var violations: [InvariantViolation] = []
        let reads = Dictionary(verification.reads.map { ("\($0.resourceType)/\($0.resourceID)", $0) }, uniquingKeysWith: { first, _ in first })
        let byResource = Dictionary(grouping: writes) { "\($0.resourceType)/\($0.resourceID)" }
        var checked = 0
        for (resource, resourceWrites) in byResource.sorted(by: { $0.key < $1.key }) {
            let ordered = resourceWrites.sorted { $0.sequence < $1.sequence }
            guard let lastIndex = ordered.lastIndex(where: \.succeeded) else { continue }
            let last = ordered[lastIndex]
            let later = ordered[(lastIndex + 1)...]
            let possible = Set([last.contentDigest] + later.filter { self.isIndeterminate($0) }.map(\.contentDigest))
            let definitelyFailed = ordered.filter { !$0.succeeded && !self.isIndeterminate($0) }
            checked += 1
            guard let read = reads[resource] else {
                violations.append(
                    InvariantViolation(
                        kind: "write-not-verified", operations: [last.sequence], message: "\(last.label) was acknowledged but never read back"))
                continue
            }
            guard let digest = read.contentDigest else {
                violations.append(
                    InvariantViolation(
                        kind: "lost-write", operations: [last.sequence],
                        message: "\(last.label) was acknowledged, but reading \(resource) afterwards failed with \(read.errorName ?? "no content")"))
                continue
            }
            if possible.contains(digest) { continue }
            if let failed = definitelyFailed.first(where: { $0.contentDigest == digest }) {
                violations.append(
                    InvariantViolation(
                        kind: "failed-write-visible", operations: [failed.sequence],
                        message: "\(failed.label) failed with \(failed.errorName ?? "?"), yet \(resource) holds its content"))
            } else {
                violations.append(
                    InvariantViolation(
                        kind: "changed-write", operations: [last.sequence],
                        message: "\(last.label) was acknowledged, but \(resource) now holds other content"))
            }
        }
        let searches = Dictionary(verification.markerSearches.map { ($0.operation, $0) }, uniquingKeysWith: { first, _ in first })
        for create in failedCreates {
            guard let search = searches[create.sequence] else {
                violations.append(
                    InvariantViolation(
                        kind: "write-not-verified", operations: [create.sequence], message: "\(create.label) failed but was never searched for"))
                continue
            }
            if let error = search.errorName {
                violations.append(
                    InvariantViolation(
                        kind: "write-not-verified", operations: [create.sequence],
                        message: "\(create.label) failed; searching for its trace failed with \(error)"))
            } else if !search.foundIDs.isEmpty {
                violations.append(
                    InvariantViolation(
                        kind: "failed-write-visible", operations: [create.sequence],
                        message: "\(create.label) failed with \(create.errorName ?? "?"), yet \(search.foundIDs.count) resource(s) carry its marker: "
                            + search.foundIDs.prefix(3).joined(separator: ", ")))
            }
        }
        let note = verification.accessNote.isEmpty ? "" : "; \(verification.accessNote)"
        return InvariantResult(
            invariant: .acknowledgedWritesDurable, applies: true,
            detail: "\(checked) resources with acknowledged writes read back, \(failedCreates.count) failed creates searched for\(note)",
            violations: violations)
    }

    /// Whether `operation` failed in a way that leaves open whether it took effect (or hung).
    func isIndeterminate(_ operation: OperationRecord) -> Bool {
        guard operation.completed != nil else { return true }
        guard let name = operation.errorName else { return false }
        return self.settings.indeterminateErrorNames.contains(name)
    }
}

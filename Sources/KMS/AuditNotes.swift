import Synchronization

/// What an operation learns while it runs and its audit event must carry, whether it ends in
/// success or failure: the keys it touched and what it returned.
final class AuditNotes: Sendable {
    struct State: Sendable {
        var requestParameters: [String: AuditJSON]
        var responseElements: [String: AuditJSON]?
        var additionalEventData: [String: AuditJSON]?
        var keys: [KeyMetadata] = []
    }

    private let state: Mutex<State>

    init(requestParameters: [String: AuditJSON]) {
        self.state = Mutex(State(requestParameters: requestParameters))
    }

    /// Records a key the call resolved and was allowed to know exists.
    func touched(_ key: KeyMetadata) {
        self.state.withLock { state in
            if !state.keys.contains(where: { $0.keyID == key.keyID }) { state.keys.append(key) }
        }
    }

    /// Sets the response elements (ids only, never secrets).
    func respond(_ elements: [String: AuditJSON]) {
        self.state.withLock { $0.responseElements = elements }
    }

    /// Adds a request parameter (validated values only).
    func setParameter(_ name: String, _ value: AuditJSON) {
        self.state.withLock { $0.requestParameters[name] = value }
    }

    /// Adds to `additionalEventData`.
    func addEventData(_ name: String, _ value: AuditJSON) {
        self.state.withLock { state in
            state.additionalEventData = (state.additionalEventData ?? [:]).merging([name: value]) { _, new in new }
        }
    }

    var snapshot: State { self.state.withLock { $0 } }
}

import Foundation

/// One stored audit event, as `LookupEvents` returns it.
public struct AuditRecord: Hashable, Sendable {
    /// The position in the chain, from 1.
    public var sequence: Int64
    /// The event's UUID.
    public var eventID: String
    /// The operation, such as `Decrypt`.
    public var eventName: String
    /// When it happened.
    public var eventTime: Date
    /// The effective caller.
    public var principal: String
    /// The key the event is about, if any.
    public var keyID: KeyID?
    /// The CloudTrail-shaped JSON event, exactly as stored and hashed.
    public var document: String
}

/// One page of ``AuditRecord``s, newest first.
public struct AuditLookupPage: Hashable, Sendable {
    /// The events.
    public var events: [AuditRecord]
    /// Pass back as `nextToken` for the next page; `nil` when this is the last one.
    public var nextToken: String?
}

/// Which events a lookup may return.
public struct AuditLookupFilter: Hashable, Sendable {
    /// Only events with this name.
    public var eventName: String?
    /// Only events about this key (key id or key ARN).
    public var keyID: KeyID?
    /// Only events whose effective caller is this principal.
    public var principal: String?
    /// Only events at or after this time.
    public var startTime: Date?
    /// Only events before this time.
    public var endTime: Date?
    /// Only the event with this id.
    public var eventID: String?

    /// Creates a filter; `nil` fields do not filter.
    public init(
        eventName: String? = nil, keyID: KeyID? = nil, principal: String? = nil, startTime: Date? = nil, endTime: Date? = nil,
        eventID: String? = nil
    ) {
        self.eventName = eventName
        self.keyID = keyID
        self.principal = principal
        self.startTime = startTime
        self.endTime = endTime
        self.eventID = eventID
    }
}

/// The outcome of ``AuditTrail/verifyChain()``.
public enum AuditChainVerification: Hashable, Sendable {
    /// Every event is where it was written, unchanged, and none is missing or added.
    case intact(eventCount: Int)
    /// The chain breaks at `sequence`: an event there was edited, deleted, inserted or moved.
    case broken(sequence: Int64, reason: String)

    /// Where the chain breaks, or `nil` when it is intact.
    public var brokenSequence: Int64? {
        if case .broken(let sequence, _) = self { return sequence }
        return nil
    }

    /// Whether the chain is intact.
    public var isIntact: Bool {
        if case .intact = self { return true }
        return false
    }
}

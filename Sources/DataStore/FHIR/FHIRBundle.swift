/// A FHIR R4 `batch` or `transaction` Bundle, parsed and checked (see
/// ``parse(_:table:limits:)``): each entry's request is either an ``Action`` ready to carry
/// out or the problem that makes it unusable.
public struct FHIRBundle: Sendable {
    /// `Bundle.type`.
    public enum Kind: String, Hashable, Sendable {
        /// Entries are processed independently; each succeeds or fails on its own.
        case batch
        /// All entries succeed or nothing is stored.
        case transaction

        /// The `Bundle.type` of the response.
        public var responseType: String { "\(self.rawValue)-response" }
    }

    /// `Bundle.entry.request.method`.
    public enum Method: String, Hashable, Sendable, CaseIterable {
        /// Read or vread.
        case get = "GET"
        /// Create with a server-assigned id.
        case post = "POST"
        /// Update, or create with the client's id.
        case put = "PUT"
        /// Delete.
        case delete = "DELETE"

        /// FHIR's transaction processing order: DELETE, then POST, then PUT, then GET.
        public var transactionOrder: Int {
            switch self {
            case .delete: 0
            case .post: 1
            case .put: 2
            case .get: 3
            }
        }
    }

    /// What one entry asks for.
    public enum Action: Hashable, Sendable {
        /// `POST Type`: create with a server-assigned id (any id in the resource is replaced).
        case create(FHIRResource)
        /// `PUT Type/id`, optionally only if the current version is `ifMatch` (`3` or `W/"3"`).
        case update(FHIRResourceType, id: String, FHIRResource, ifMatch: String?)
        /// `DELETE Type/id`.
        case delete(FHIRResourceType, id: String)
        /// `GET Type/id` or `GET Type/id/_history/versionID`.
        case read(FHIRResourceType, id: String, versionID: Int?)

        /// The request method.
        public var method: Method {
            switch self {
            case .create: .post
            case .update: .put
            case .delete: .delete
            case .read: .get
            }
        }

        /// The resource the entry targets as `Type/id`, when the URL names one (not for create).
        public var target: String? {
            switch self {
            case .create: nil
            case .update(let type, let id, _, _), .delete(let type, let id), .read(let type, let id, _): "\(type.name)/\(id)"
            }
        }
    }

    /// One entry.
    public struct Entry: Sendable {
        /// The entry's position in the Bundle, from 0.
        public let index: Int
        /// `Bundle.entry.fullUrl`, if given.
        public let fullUrl: String?
        /// The request, or why it cannot be carried out (an `OperationOutcome` naming the entry).
        public let action: Result<Action, FHIRValidationError>
    }

    /// `batch` or `transaction`.
    public let kind: Kind
    /// The entries, in Bundle order.
    public let entries: [Entry]
}

/// A JSON value as read from a policy document, keeping object members in document order.
///
/// Numbers keep their text: policies use them only as condition values, which compare as strings.
enum PolicyJSON: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([PolicyJSON])
    case object([Member])

    /// One `"name": value` member of an object.
    struct Member: Hashable, Sendable {
        let name: String
        let value: PolicyJSON
    }

    /// A short name of the value's type for error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

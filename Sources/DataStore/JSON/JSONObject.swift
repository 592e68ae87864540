/// A JSON object whose members keep their document order.
///
/// Keys are unique: the parser rejects duplicates, and ``subscript(_:)`` replaces a member in
/// place rather than appending a second one.
public struct JSONObject: Hashable, Sendable, ExpressibleByDictionaryLiteral {
    /// One key and its value.
    public struct Member: Hashable, Sendable {
        /// The key.
        public var key: String
        /// The value.
        public var value: JSONValue

        /// Creates a member.
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The members, in order.
    public private(set) var members: [Member]

    /// Creates an object from members; the caller guarantees unique keys.
    public init(members: [Member] = []) {
        self.members = members
    }

    /// Creates an object from a literal, keeping the literal's order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.members = []
        for (key, value) in elements { self[key] = value }
    }

    /// The member keys, in order.
    public var keys: [String] { self.members.map(\.key) }

    /// Whether the object has no members.
    public var isEmpty: Bool { self.members.isEmpty }

    /// The value for `key`; setting `nil` removes the member, setting a value replaces the
    /// existing member in place or appends a new one.
    public subscript(key: String) -> JSONValue? {
        get {
            self.members.first(where: { $0.key == key })?.value
        }
        set {
            let index = self.members.firstIndex(where: { $0.key == key })
            switch (index, newValue) {
            case (let index?, let value?): self.members[index].value = value
            case (let index?, nil): self.members.remove(at: index)
            case (nil, let value?): self.members.append(Member(key: key, value: value))
            case (nil, nil): break
            }
        }
    }
}

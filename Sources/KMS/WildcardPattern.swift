/// A policy pattern where `*` matches any run of characters and `?` matches exactly one.
///
/// Matching is the classic greedy algorithm with single-star backtracking: O(pattern × subject)
/// in the worst case, never exponential, so a hostile pattern such as `*a*a*a*…b` cannot stall
/// evaluation.
struct WildcardPattern: Hashable, Sendable, CustomStringConvertible {
    /// The pattern as written in the policy.
    let text: String
    private let characters: [Character]
    private let caseInsensitive: Bool

    init(_ text: String, caseInsensitive: Bool) {
        self.text = text
        self.caseInsensitive = caseInsensitive
        self.characters = Array(caseInsensitive ? text.lowercased() : text)
    }

    var description: String { self.text }

    /// Whether the pattern has any wildcard character.
    var hasWildcard: Bool { self.characters.contains("*") || self.characters.contains("?") }

    /// Whether `subject` matches the whole pattern.
    func matches(_ subject: String) -> Bool {
        let subject = Array(self.caseInsensitive ? subject.lowercased() : subject)
        let pattern = self.characters
        var p = 0
        var s = 0
        var starPattern = -1
        var starSubject = 0
        while s < subject.count {
            if p < pattern.count, pattern[p] == "?" || (pattern[p] != "*" && pattern[p] == subject[s]) {
                p += 1
                s += 1
            } else if p < pattern.count, pattern[p] == "*" {
                starPattern = p
                starSubject = s
                p += 1
            } else if starPattern >= 0 {
                p = starPattern + 1
                starSubject += 1
                s = starSubject
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}

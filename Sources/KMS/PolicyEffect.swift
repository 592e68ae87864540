/// Whether a matching statement allows or denies the request.
public enum PolicyEffect: String, Hashable, Sendable {
    /// `"Effect": "Allow"`.
    case allow = "Allow"
    /// `"Effect": "Deny"`; an explicit deny overrides every allow.
    case deny = "Deny"
}

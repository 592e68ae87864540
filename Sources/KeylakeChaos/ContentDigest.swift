import Foundation

/// The digest by which acknowledged content is compared with what is read back: the resource's
/// JSON without the members the server sets (`id`, `meta`), with sorted keys, hashed with 64-bit
/// FNV-1a.
///
/// It detects changed or lost content; it is not a defence against an adversary, and it keeps
/// resource content (synthetic, but shaped like PHI) out of reports.
public enum ContentDigest {
    /// The digest of `json`, or `nil` when it is not a JSON object.
    public static func of(_ json: Data) -> String? {
        guard var object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { return nil }
        object["id"] = nil
        object["meta"] = nil
        guard let canonical = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return nil
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in canonical {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

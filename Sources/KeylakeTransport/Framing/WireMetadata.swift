import GRPCCore

/// Metadata keys with a meaning in the Keylake protocol.
///
/// The client transport lifts these out of a call's metadata into dedicated `RequestHeaders`
/// fields; the server transport puts them back, so interceptors and services see one metadata view.
public enum KeylakeMetadataKey {
    /// Domain error name of a failed call (`DisabledException`, …), from `Status.error_name`.
    public static let errorName = "keylake-error-name"
    /// Correlation id of the call.
    public static let requestID = "keylake-request-id"
    /// The principal a service caller acts on behalf of.
    public static let onBehalfOf = "keylake-on-behalf-of"
    /// W3C trace context.
    public static let traceparent = "traceparent"
    public static let tracestate = "tracestate"
    /// GRPCCore's own deadline header; carried on the wire as `timeout_micros`.
    static let grpcTimeout = "grpc-timeout"
}

extension Metadata {
    /// The metadata as wire entries, leaving out keys that travel in dedicated fields.
    func wireEntries(excluding excluded: Set<String> = []) -> [Keylake_Transport_V1_MetadataEntry] {
        var entries: [Keylake_Transport_V1_MetadataEntry] = []
        entries.reserveCapacity(self.count)
        for (key, value) in self where !excluded.contains(key) {
            var entry = Keylake_Transport_V1_MetadataEntry()
            entry.key = key
            switch value {
            case .string(let text): entry.text = text
            case .binary(let bytes): entry.binary = Data(bytes)
            }
            entries.append(entry)
        }
        return entries
    }

    /// Metadata rebuilt from wire entries.
    ///
    /// An entry that is not ``Keylake_Transport_V1_MetadataEntry/isWellFormed`` is left out:
    /// GRPCCore's `Metadata` asserts that binary values have `-bin` keys, so one from a peer would
    /// trap. The state machines refuse such entries before they get here.
    init(wireEntries: [Keylake_Transport_V1_MetadataEntry]) {
        self.init()
        for entry in wireEntries where entry.isWellFormed {
            switch entry.value {
            case .text(let text): self.addString(text, forKey: entry.key)
            case .binary(let data): self.addBinary(Array(data), forKey: entry.key)
            case .none: self.addString("", forKey: entry.key)
            }
        }
    }

    /// The first string value for `key`, if any.
    func firstString(_ key: String) -> String? {
        self[stringValues: key].first(where: { _ in true })
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Keylake_Transport_V1_MetadataEntry {
    /// Whether the entry keeps the protocol's rule that binary values are carried only under keys
    /// ending in `-bin` (docs/protocol.md).
    var isWellFormed: Bool {
        if case .binary = self.value { return self.key.hasSuffix("-bin") }
        return true
    }
}

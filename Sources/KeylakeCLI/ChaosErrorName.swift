import GRPCCore
import KeylakeTransport

/// How a chaos run names a failed call: the `keylake-error-name` trailer when the server sent one
/// (`KmsKeyAccessDeniedException`, …), else the canonical gRPC status name (`DEADLINE_EXCEEDED`,
/// `UNAVAILABLE`, …).
enum ChaosErrorName {
    /// Canonical status names by code number.
    private static let statusNames = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
    ]

    /// The name of `error`.
    static func of(_ error: any Error) -> String {
        guard let error = error as? RPCError else {
            return error is CancellationError ? "CANCELLED" : "\(type(of: error))"
        }
        if let name = error.metadata[stringValues: KeylakeMetadataKey.errorName].first(where: { _ in true }), !name.isEmpty {
            return name
        }
        let code = error.code.rawValue
        return Self.statusNames.indices.contains(code) ? Self.statusNames[code] : "\(error.code)"
    }
}

public import GRPCCore
public import KMS
import KeylakeTransport

/// The one place where a key-service error becomes a wire status: a gRPC code chosen by what the
/// caller can do about it, and the AWS exception name in `Status.error_name`.
extension KMSError: RPCErrorConvertible {
    public var rpcErrorCode: RPCError.Code {
        switch self.code {
        case .notFound: .notFound
        case .disabled, .invalidState: .failedPrecondition
        case .accessDenied: .permissionDenied
        case .alreadyExists: .alreadyExists
        case .limitExceeded: .resourceExhausted
        case .dependencyTimeout: .unavailable
        case .unsupportedOperation: .unimplemented
        case .internalFailure: .internalError
        default: .invalidArgument
        }
    }

    public var rpcErrorMessage: String { self.message }

    public var rpcErrorMetadata: Metadata {
        [KeylakeMetadataKey.errorName: .string(self.code.exceptionName)]
    }
}

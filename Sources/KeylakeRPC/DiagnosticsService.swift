public import GRPCCore
public import KeylakeProto
import KeylakeTransport
import SwiftProtobuf

/// `keylake.diagnostics.v1.Diagnostics`: tells a caller who the server thinks it is, and echoes
/// bytes for the RPC benchmark.
public struct DiagnosticsService: Keylake_Diagnostics_V1_Diagnostics.SimpleServiceProtocol {
    /// Largest echo payload, in bytes.
    public static let maxEchoBytes = 1024 * 1024

    private let serverName: String

    /// - Parameter serverName: the daemon's name as reported by `WhoAmI` ("kmsd" or "fhird").
    public init(serverName: String) {
        self.serverName = serverName
    }

    public func echo(
        request: Keylake_Diagnostics_V1_EchoRequest, context: ServerContext
    ) async throws -> Keylake_Diagnostics_V1_EchoResponse {
        guard request.payload.count <= Self.maxEchoBytes else {
            throw RPCError(code: .invalidArgument, message: "echo payload exceeds \(Self.maxEchoBytes) bytes")
        }
        return .with { $0.payload = request.payload }
    }

    public func whoAmI(
        request: Keylake_Diagnostics_V1_WhoAmIRequest, context: ServerContext
    ) async throws -> Keylake_Diagnostics_V1_WhoAmIResponse {
        guard let identity = context.peerIdentity else {
            throw RPCError(code: .unauthenticated, message: "no verified client identity")
        }
        return .with {
            $0.principal = identity.principal
            $0.onBehalfOf = identity.onBehalfOf ?? ""
            $0.requestID = identity.requestID
            $0.server = self.serverName
        }
    }
}

import SwiftProtobuf
import Foundation
import GRPCCore
import KeylakeProto
import KeylakeTransport
import Synchronization

/// Records what test handlers observed, so tests can assert that the server really stopped work.
final class HandlerLog: Sendable {
    private let state = Mutex<(started: Int, cancelled: Int, completed: Int)>((0, 0, 0))
    var started: Int { self.state.withLock { $0.started } }
    var cancelled: Int { self.state.withLock { $0.cancelled } }
    var completed: Int { self.state.withLock { $0.completed } }
    func start() { self.state.withLock { $0.started += 1 } }
    func cancel() { self.state.withLock { $0.cancelled += 1 } }
    func complete() { self.state.withLock { $0.completed += 1 } }
}

/// A Diagnostics service whose Echo understands commands in its payload:
/// "sleep:<ms>" sleeps (recording cancellation), "fail:<ErrorName>" fails with a domain error name,
/// anything else is echoed. WhoAmI reports the verified principal.
struct ScriptedDiagnostics: Keylake_Diagnostics_V1_Diagnostics.SimpleServiceProtocol {
    let log: HandlerLog

    func echo(request: Keylake_Diagnostics_V1_EchoRequest, context: ServerContext) async throws -> Keylake_Diagnostics_V1_EchoResponse {
        let text = String(decoding: request.payload, as: UTF8.self)
        if text.hasPrefix("sleep:"), let ms = Int(text.dropFirst(6)) {
            self.log.start()
            do {
                try await Task.sleep(for: .milliseconds(ms))
            } catch {
                self.log.cancel()
                throw error
            }
            self.log.complete()
        } else if text.hasPrefix("fail:") {
            throw RPCError(
                code: .failedPrecondition, message: "key is disabled",
                metadata: [KeylakeMetadataKey.errorName: .string(String(text.dropFirst(5)))])
        }
        return .with { $0.payload = request.payload }
    }

    func whoAmI(request: Keylake_Diagnostics_V1_WhoAmIRequest, context: ServerContext) async throws -> Keylake_Diagnostics_V1_WhoAmIResponse {
        guard let identity = context.peerIdentity else {
            throw RPCError(code: .unauthenticated, message: "no identity")
        }
        return .with {
            $0.principal = identity.principal
            $0.onBehalfOf = identity.onBehalfOf ?? ""
            $0.requestID = identity.requestID
            $0.server = "test"
        }
    }
}

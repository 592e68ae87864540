public import GRPCCore
public import KeylakeProto
import Synchronization
import SwiftProtobuf

/// The standard gRPC health service (`grpc.health.v1.Health`), served by every Keylake daemon.
///
/// The empty service name stands for the whole server. A daemon marks itself `NOT_SERVING` when
/// it starts shutting down, so load balancers and `keylake dev up` stop sending it work.
public final class HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol, Sendable {
    public typealias ServingStatus = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: ServingStatus] = [:]
        var watchers: [Int: (service: String, continuation: AsyncStream<ServingStatus>.Continuation)] = [:]
        var nextWatcherID = 0
    }

    private let state = Mutex(State())

    /// Creates a health service that reports `services` (and the server itself, "") as serving.
    public init(services: [String] = []) {
        self.state.withLock { state in
            state.statuses[""] = .serving
            for service in services { state.statuses[service] = .serving }
        }
    }

    /// Sets the status of `service` ("" for the whole server) and tells every watcher.
    public func setStatus(_ status: ServingStatus, for service: String = "") {
        let watchers = self.state.withLock { state in
            state.statuses[service] = status
            return state.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    /// Marks every service `NOT_SERVING`; used when shutdown begins.
    public func markAllNotServing() {
        let services = self.state.withLock { Array($0.statuses.keys) }
        for service in services { self.setStatus(.notServing, for: service) }
    }

    public func check(
        request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = self.state.withLock({ $0.statuses[request.service] }) else {
            throw RPCError(code: .notFound, message: "unknown service \"\(request.service)\"")
        }
        return .with { $0.status = status }
    }

    public func list(
        request: Grpc_Health_V1_HealthListRequest, context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthListResponse {
        let statuses = self.state.withLock { $0.statuses }
        return .with { response in
            for (service, status) in statuses {
                response.statuses[service] = .with { $0.status = status }
            }
        }
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        let (updates, continuation) = AsyncStream<ServingStatus>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = self.state.withLock { state in
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            state.watchers[id] = (request.service, continuation)
            continuation.yield(state.statuses[request.service] ?? .serviceUnknown)
            return id
        }
        defer { _ = self.state.withLock { $0.watchers.removeValue(forKey: id) } }
        for await status in updates {
            try await response.write(.with { $0.status = status })
        }
    }
}

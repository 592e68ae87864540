extension KeyService {
    /// Refuses a call that failed validation before it reached the key service (for example a
    /// request field the RPC layer could not parse), so the refusal is audited like any other.
    ///
    /// - Throws: always: `error`, after its audit event is durable (or `KMSInternalException` if
    ///   the event cannot be written).
    public func refuse(_ operation: KMSOperation, _ error: KMSError, caller context: CallerContext) async throws -> Never {
        _ = try await self.perform(operation, context) { _, _, _ -> Int in
            throw error
        }
        throw error  // `perform` never returns for a body that throws.
    }
}

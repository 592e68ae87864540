import GRPCCore

/// Conversions between GRPCCore's status and the wire `Status` message: the one place where a
/// status crosses the wire in either direction.
extension Keylake_Transport_V1_Status {
    /// The wire form of a status and its trailers; a `keylake-error-name` trailer becomes `error_name`.
    init(_ status: GRPCCore.Status, trailers: Metadata) {
        self.init()
        self.code = UInt32(status.code.rawValue)
        self.message = status.message
        self.errorName = trailers.firstString(KeylakeMetadataKey.errorName) ?? ""
        self.trailers = trailers.wireEntries(excluding: [KeylakeMetadataKey.errorName])
    }

    /// The GRPCCore status and trailers; `error_name` becomes the `keylake-error-name` trailer.
    /// An unknown status code maps to `UNKNOWN`, as gRPC specifies.
    var grpcStatus: (GRPCCore.Status, Metadata) {
        let code = GRPCCore.Status.Code(rawValue: Int(self.code)) ?? .unknown
        var trailers = Metadata(wireEntries: self.trailers)
        if !self.errorName.isEmpty {
            trailers.replaceOrAddString(self.errorName, forKey: KeylakeMetadataKey.errorName)
        }
        return (GRPCCore.Status(code: code, message: self.message), trailers)
    }
}

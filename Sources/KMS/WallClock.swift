import Foundation

/// The source of wall-clock time for creation dates, deletion windows and rotation schedules.
///
/// Injected so that tests can move time forward (``ManualWallClock``) instead of waiting.
public protocol WallClock: Sendable {
    /// The current time.
    func now() -> Date
}

import Foundation

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    /// Creates the clock.
    public init() {}

    /// The current system time.
    public func now() -> Date { Date() }
}

import Foundation
import Synchronization

/// A clock that moves only when told to; for tests of deletion windows and rotation.
public final class ManualWallClock: WallClock {
    private let current: Mutex<Date>

    /// Creates a clock showing `start`.
    public init(start: Date) {
        self.current = Mutex(start)
    }

    /// The time the clock shows.
    public func now() -> Date {
        self.current.withLock { $0 }
    }

    /// Moves the clock forward (or back, for negative intervals).
    public func advance(by interval: TimeInterval) {
        self.current.withLock { $0 = $0.addingTimeInterval(interval) }
    }

    /// Sets the clock to `date`.
    public func set(_ date: Date) {
        self.current.withLock { $0 = date }
    }
}

import Synchronization

@testable import KMS

/// What the racing calls saw, relative to the moment the take-away returned.
final class RaceLog: Sendable {
    struct Log: Sendable {
        var successesBefore = 0
        var callsAfter = 0
        var successesAfter = 0
        var unexpectedCodes: [KMSError.Code] = []
    }

    private let flag = Atomic<Bool>(false)
    private let log = Mutex<Log>(Log())

    var takenAway: Bool { self.flag.load(ordering: .sequentiallyConsistent) }
    var successesBefore: Int { self.log.withLock { $0.successesBefore } }
    var snapshot: Log { self.log.withLock { $0 } }

    func takeAway() { self.flag.store(true, ordering: .sequentiallyConsistent) }

    func record(startedAfterTakeAway: Bool, code: KMSError.Code?) {
        let expected: Set<KMSError.Code> = [.accessDenied, .disabled, .invalidState, .notFound]
        self.log.withLock { log in
            if startedAfterTakeAway {
                log.callsAfter += 1
                if code == nil { log.successesAfter += 1 }
            } else if code == nil {
                log.successesBefore += 1
            }
            if let code, !expected.contains(code) { log.unexpectedCodes.append(code) }
        }
    }
}

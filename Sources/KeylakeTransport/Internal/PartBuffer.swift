import Synchronization

/// A single-consumer, unbounded async queue of call parts, fed by a connection's event loop.
///
/// It does what `AsyncThrowingStream` does for the transport, but as a concrete type of this
/// module, so the optimizer specializes it: `AsyncThrowingStream`'s unspecialized storage looked
/// up generic metadata on every element and cost about a tenth of the CPU of a unary call.
/// Bounded in practice by the per-call limits the state machines enforce.
final class PartBuffer<Element: Sendable>: AsyncSequence, Sendable {
    private struct State {
        var buffer: [Element] = []
        var head = 0
        var waiter: UnsafeContinuation<Element?, any Error>?
        var finished = false
        var failure: (any Error)?
    }

    private let state = Mutex(State())

    init() {}

    /// Appends a part; ignored after `finish`.
    func yield(_ element: Element) {
        let waiter: UnsafeContinuation<Element?, any Error>? = self.state.withLock { state in
            guard !state.finished else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.buffer.append(element)
            return nil
        }
        waiter?.resume(returning: element)
    }

    /// Ends the sequence after the buffered parts, with `error` if given. Later calls are ignored.
    func finish(throwing error: (any Error)? = nil) {
        let waiter: UnsafeContinuation<Element?, any Error>? = self.state.withLock { state in
            guard !state.finished else { return nil }
            state.finished = true
            state.failure = error
            defer { state.waiter = nil }
            return state.waiter
        }
        guard let waiter else { return }
        if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }

    private enum Next {
        case element(Element)
        case end((any Error)?)
        case wait
    }

    fileprivate func next() async throws -> Element? {
        let immediate: Next = self.state.withLock { state in
            if state.head < state.buffer.count {
                let element = state.buffer[state.head]
                state.head += 1
                if state.head == state.buffer.count {
                    state.buffer.removeAll(keepingCapacity: true)
                    state.head = 0
                }
                return .element(element)
            }
            if state.finished {
                defer { state.failure = nil }
                return .end(state.failure)
            }
            return .wait
        }
        switch immediate {
        case .element(let element): return element
        case .end(let error?): throw error
        case .end(nil): return nil
        case .wait: break
        }
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Element?, any Error>) in
                let ready: Next = self.state.withLock { state in
                    if state.head < state.buffer.count {
                        let element = state.buffer[state.head]
                        state.head += 1
                        return .element(element)
                    }
                    if state.finished {
                        defer { state.failure = nil }
                        return .end(state.failure)
                    }
                    state.waiter = continuation
                    return .wait
                }
                switch ready {
                case .element(let element): continuation.resume(returning: element)
                case .end(let error?): continuation.resume(throwing: error)
                case .end(nil): continuation.resume(returning: nil)
                case .wait: break
                }
            }
        } onCancel: {
            self.finish(throwing: CancellationError())
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let buffer: PartBuffer<Element>
        mutating func next() async throws -> Element? { try await self.buffer.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: self) }
}

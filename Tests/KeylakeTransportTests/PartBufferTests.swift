import Testing

@testable import KeylakeTransport

@Suite("Part buffer")
struct PartBufferTests {
    struct Boom: Error {}

    @Test("parts come out in order, then the end")
    func order() async throws {
        let buffer = PartBuffer<Int>()
        for value in 0..<100 { buffer.yield(value) }
        buffer.finish()
        buffer.yield(999)  // after finish: ignored
        var seen: [Int] = []
        for try await value in buffer { seen.append(value) }
        #expect(seen == Array(0..<100))
    }

    @Test("a waiting consumer is woken by a producer on another task")
    func wakeUp() async throws {
        let buffer = PartBuffer<Int>()
        async let collected: [Int] = {
            var seen: [Int] = []
            for try await value in buffer { seen.append(value) }
            return seen
        }()
        for value in 0..<1000 {
            buffer.yield(value)
            if value % 100 == 0 { await Task.yield() }
        }
        buffer.finish()
        #expect(try await collected == Array(0..<1000))
    }

    @Test("an error ends the sequence after the buffered parts")
    func failure() async {
        let buffer = PartBuffer<Int>()
        buffer.yield(1)
        buffer.finish(throwing: Boom())
        var iterator = buffer.makeAsyncIterator()
        #expect(try! await iterator.next() == 1)
        await #expect(throws: Boom.self) { _ = try await iterator.next() }
    }

    @Test("cancelling the consumer ends its wait")
    func cancellation() async {
        let buffer = PartBuffer<Int>()
        let consumer = Task {
            var iterator = buffer.makeAsyncIterator()
            return try await iterator.next()
        }
        try? await Task.sleep(for: .milliseconds(50))
        consumer.cancel()
        await #expect(throws: CancellationError.self) { _ = try await consumer.value }
    }
}

import KeylakeFaultProxy
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@Suite("Fault proxy over loopback TCP")
struct FaultProxyTests {
    @Test("bytes pass unchanged both ways: a large payload and many connections at once")
    func passesBytesUnchanged() async throws {
        try await withEchoProxy { proxy, port in
            let big = payload(4 * 1024 * 1024)
            let client = try await TestClient.connect(port: port)
            try await client.send(big)
            #expect(try await client.receive(big.count) == big)
            await client.close()

            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<24 {
                    group.addTask {
                        let bytes = payload(64 * 1024, seed: UInt64(index + 10))
                        let client = try await TestClient.connect(port: port)
                        try await client.send(bytes)
                        let received = try await client.receive(bytes.count)
                        await client.close()
                        return received == bytes
                    }
                }
                for try await same in group { #expect(same) }
            }
            try await waitUntil { proxy.connectionCount == 0 }
        }
    }

    @Test("latency added while a connection is open delays each answer by at least the latency")
    func latency() async throws {
        try await withEchoProxy { proxy, port in
            let client = try await TestClient.connect(port: port)
            try await client.send([1])
            try await client.receive(1)
            try proxy.addToxic(Toxic(kind: .latency(latency: .milliseconds(300), jitter: .milliseconds(50)), direction: .both))
            let started = ContinuousClock.now
            try await client.send([2, 3, 4])
            #expect(try await client.receive(4) == [1, 2, 3, 4])
            let elapsed = ContinuousClock.now - started
            // Both directions: at least 2 × (300 - 50) ms.
            #expect(elapsed >= .milliseconds(500), "elapsed \(elapsed)")
            try proxy.removeToxic(named: "latency")
            // With the toxic a round trip takes at least 2 × (300 - 50) ms on the event loop;
            // without it, far less (timed on the event loop: the test task may resume late).
            // One trip under 450 ms decides, of up to twenty: an event loop of the shared group can
            // stall on a loaded machine for a trip or several, but a toxic still in force delays
            // every trip.
            var trips: [Duration] = []
            for byte in UInt8(5)...24 {
                trips.append(try await client.roundTrip([byte], total: Int(byte)))
                if trips.last! < .milliseconds(450) { break }
            }
            #expect(trips.min()! < .milliseconds(450), "round trips \(trips) after the latency toxic was removed")
            await client.close()
        }
    }

    @Test("bandwidth limits throughput")
    func bandwidth() async throws {
        try await withEchoProxy { proxy, port in
            try proxy.addToxic(Toxic(kind: .bandwidth(bytesPerSecond: 100_000), direction: .downstream))
            let client = try await TestClient.connect(port: port)
            let bytes = payload(120_000)
            let started = ContinuousClock.now
            try await client.send(bytes)
            #expect(try await client.receive(bytes.count) == bytes)
            let elapsed = ContinuousClock.now - started
            // 120 000 bytes at 100 000 B/s, less the first 50 ms slice: at least 1.15 s.
            #expect(elapsed >= .milliseconds(1100), "elapsed \(elapsed)")
            await client.close()
        }
    }

    @Test("blackhole holds every byte while active and delivers them after removal")
    func blackholeHoldsThenDelivers() async throws {
        try await withEchoProxy { proxy, port in
            let client = try await TestClient.connect(port: port)
            try proxy.addToxic(Toxic(spec: "blackhole direction=upstream"))
            try await client.send(payload(1000))
            try await Task.sleep(for: .milliseconds(400))
            #expect(client.inbox.snapshot.bytes.isEmpty)
            #expect(!client.inbox.snapshot.closed)
            try proxy.removeToxic(named: "blackhole")
            #expect(try await client.receive(1000) == payload(1000))
            await client.close()
        }
    }

    @Test("timeout above zero closes the connection after it, having delivered nothing")
    func timeoutCloses() async throws {
        try await withEchoProxy { proxy, port in
            try proxy.addToxic(Toxic(spec: "timeout timeout=200 direction=both"))
            let started = ContinuousClock.now
            let client = try await TestClient.connect(port: port)
            // On a loaded machine the proxy may already have closed the connection: then the send fails.
            try? await client.send(payload(100))
            try await waitUntil { client.inbox.snapshot.closed }
            #expect(ContinuousClock.now - started >= .milliseconds(190))
            #expect(client.inbox.snapshot.bytes.isEmpty)
        }
    }

    @Test("reset_peer resets the client's connection")
    func resetPeer() async throws {
        try await withEchoProxy { proxy, port in
            let client = try await TestClient.connect(port: port)
            try await client.send([7])
            try await client.receive(1)
            try proxy.addToxic(Toxic(spec: "reset_peer timeout=50"))
            try await waitUntil { client.inbox.snapshot.closed }
            let error = client.inbox.snapshot.error
            #expect(isConnectionReset(error), "expected ECONNRESET, got \(String(describing: error))")
        }
    }

    @Test("slicer delivers the same bytes in many reads")
    func slicer() async throws {
        try await withEchoProxy { proxy, port in
            try proxy.addToxic(Toxic(spec: "slicer average_size=100 size_variation=30 delay=3"))
            let client = try await TestClient.connect(port: port)
            let bytes = payload(5000)
            try await client.send(bytes)
            #expect(try await client.receive(bytes.count) == bytes)
            // Pieces 3 ms apart: even when a stalled event loop reads several at once, the
            // 5,000 bytes do not arrive in one read (the cutting itself is tested in FlowScheduleTests).
            #expect(client.inbox.snapshot.reads > 1, "reads \(client.inbox.snapshot.reads)")
            await client.close()
        }
    }

    @Test("slow_close delays the close that follows the upstream's close; without it the close follows at once")
    func slowClose() async throws {
        try await withEchoProxy(closeAfterReply: true) { proxy, port in
            // Without the toxic the close reaches the client sooner than 600 ms after the request
            // was sent. One such close of up to five connections decides: a loaded machine can
            // stall a connection or several, but a close delay in force would hold every one.
            var promptCloses: [Duration] = []
            for _ in 0..<5 {
                let prompt = try await TestClient.connect(port: port)
                let sent = ContinuousClock.now
                try await prompt.send([1, 2, 3])
                #expect(try await prompt.receive(3) == [1, 2, 3])
                try await waitUntil { prompt.inbox.snapshot.closed }
                promptCloses.append(try #require(prompt.inbox.contents.withLock { $0.closedAt }) - sent)
                if promptCloses.last! < .milliseconds(600) { break }
            }
            #expect(promptCloses.min()! < .milliseconds(600), "closes \(promptCloses) after the request was sent, without the toxic")

            try proxy.addToxic(Toxic(spec: "slow_close delay=600"))
            let slow = try await TestClient.connect(port: port)
            // The upstream closes only after it got these bytes, and the delay starts there: so
            // the close cannot reach the client earlier than 600 ms after this instant, however
            // late a loaded machine timestamps the client's read of the reply.
            let sent = ContinuousClock.now
            try await slow.send([4, 5])
            #expect(try await slow.receive(2) == [4, 5])
            try await waitUntil { slow.inbox.snapshot.closed }
            let closedAt = try #require(slow.inbox.contents.withLock { $0.closedAt })
            #expect(closedAt - sent >= .milliseconds(600), "closed \(closedAt - sent) after the request was sent")
        }
    }

    @Test("down cuts open connections and refuses new ones; up serves again on the same port")
    func downAndUp() async throws {
        try await withEchoProxy { proxy, port in
            let client = try await TestClient.connect(port: port)
            try await client.send([1])
            try await client.receive(1)
            await proxy.down()
            #expect(proxy.linkState == .down)
            try await waitUntil { client.inbox.snapshot.closed }
            await #expect(throws: (any Error).self) {
                let refused = try await TestClient.connect(port: port)
                // Accepted just before the listener closed: it must be closed at once.
                try await waitUntil(within: .seconds(5)) { refused.inbox.snapshot.closed }
                throw TimedOut()
            }
            try await proxy.up()
            #expect(proxy.port == port)
            let again = try await TestClient.connect(port: port)
            try await again.send([9, 8])
            #expect(try await again.receive(2) == [9, 8])
            await again.close()
        }
    }

    @Test("partition silences both ways without closing; healing delivers held bytes and waiting connections")
    func partition() async throws {
        try await withEchoProxy { proxy, port in
            let open = try await TestClient.connect(port: port)
            try await open.send([1])
            try await open.receive(1)
            await proxy.partition()
            try await open.send([2])
            let fresh = try await TestClient.connect(port: port)
            try await fresh.send([3])
            try await Task.sleep(for: .milliseconds(400))
            #expect(open.inbox.snapshot.bytes == [1])
            #expect(fresh.inbox.snapshot.bytes.isEmpty)
            #expect(!open.inbox.snapshot.closed && !fresh.inbox.snapshot.closed)
            try await proxy.up()
            #expect(try await open.receive(2) == [1, 2])
            #expect(try await fresh.receive(1) == [3])
            await open.close()
            await fresh.close()
        }
    }

    @Test("an unreachable upstream closes the client promptly and the proxy keeps serving")
    func unreachableUpstream() async throws {
        // The refused connect closes the client, not the connect timeout: that is made far longer
        // than the bound below, so the bound tells the two apart however loaded the machine is.
        var settings = FaultProxySettings()
        settings.connectTimeout = .seconds(600)
        let proxy = FaultProxy(
            configuration: .init(
                upstreamHost: "127.0.0.1", upstreamPort: try await unusedPort(), settings: settings, logger: quietLogger()))
        let port = try await proxy.start()
        for _ in 0..<3 {
            let client = try await TestClient.connect(port: port)
            let started = ContinuousClock.now
            try await waitUntil(within: .seconds(120)) { client.inbox.snapshot.closed }
            #expect(ContinuousClock.now - started < .seconds(120))
        }
        try await waitUntil { proxy.connectionCount == 0 }
        #expect(proxy.linkState == .up)
        await proxy.shutdown()
    }

    @Test("run returns when the proxy is shut down, and a shut-down proxy does not start again")
    func runEndsOnShutdown() async throws {
        let echo = try await EchoServer.start()
        let proxy = FaultProxy(configuration: .init(upstreamHost: "127.0.0.1", upstreamPort: echo.port, logger: quietLogger()))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await proxy.run() }
            try await waitUntil { proxy.port != nil }
            let client = try await TestClient.connect(port: proxy.port!)
            try await client.send([1])
            try await client.receive(1)
            await proxy.shutdown()
            try await group.next()
            try await waitUntil { client.inbox.snapshot.closed }
        }
        await #expect(throws: FaultProxyError(.notRunning, "")) { try await proxy.start() }
        await echo.stop()
    }

    @Test("a held flow stops reading at the high-water mark instead of buffering without bound")
    func backpressure() async throws {
        var settings = FaultProxySettings()
        settings.highWaterMark = 64 * 1024
        settings.lowWaterMark = 16 * 1024
        try await withEchoProxy(settings: settings) { proxy, port in
            try proxy.addToxic(Toxic(spec: "blackhole direction=upstream"))
            let client = try await TestClient.connect(port: port)
            // Far more than the high-water mark plus kernel buffers: the client's writes must stall.
            let total = 24 * 1024 * 1024
            let write = client.channel.eventLoop.makePromise(of: Void.self)
            client.channel.writeAndFlush(ByteBuffer(repeating: 0x5A, count: total), promise: write)
            // The proxy holds bytes up to the high-water mark (plus one read), then stops reading.
            try await waitUntil { proxy.heldBytes >= settings.highWaterMark }
            try await Task.sleep(for: .milliseconds(300))
            #expect(proxy.heldBytes <= settings.highWaterMark + 512 * 1024, "held \(proxy.heldBytes)")
            #expect(!client.channel.isWritable)
            // Removing the blackhole lets all of it through and back.
            try proxy.removeToxic(named: "blackhole")
            try await write.futureResult.get()
            #expect(try await client.receive(total, within: .seconds(60)).count == total)
            try await waitUntil { proxy.heldBytes == 0 }
            await client.close()
        }
    }
}

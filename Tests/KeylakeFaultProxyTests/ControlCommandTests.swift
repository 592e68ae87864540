import KeylakeFaultProxy
import Logging
import Testing

@Suite("Control commands and addresses")
struct ControlCommandTests {
    @Test("commands parse")
    func parses() throws {
        #expect(
            try ProxyControlCommand(line: "add latency latency=200 jitter=50 direction=downstream")
                == .add(try Toxic(kind: .latency(latency: .milliseconds(200), jitter: .milliseconds(50)), direction: .downstream)))
        #expect(try ProxyControlCommand(line: "  UPDATE bandwidth rate=10 ") == .update(try Toxic(kind: .bandwidth(bytesPerSecond: 10))))
        #expect(try ProxyControlCommand(line: "remove latency") == .remove(name: "latency"))
        #expect(try ProxyControlCommand(line: "down") == .down)
        #expect(try ProxyControlCommand(line: "up") == .up)
        #expect(try ProxyControlCommand(line: "partition") == .partition)
        #expect(try ProxyControlCommand(line: "list") == .list)
        #expect(try ProxyControlCommand(line: "reset") == .reset)
    }

    @Test(
        "malformed commands are rejected with a clear error",
        arguments: [
            ("", "invalid_command", "empty command"),
            ("explode", "invalid_command", "unknown command 'explode'"),
            ("add", "invalid_command", "add needs a toxic spec"),
            ("remove", "invalid_command", "exactly one toxic name"),
            ("remove a b", "invalid_command", "exactly one toxic name"),
            ("down now", "invalid_command", "down takes no arguments"),
            ("add latency", "invalid_toxic", "latency=MS is required"),
            ("add latency latency=fast", "invalid_toxic", "latency must be a number"),
        ])
    func rejects(line: String, code: String, message: String) {
        #expect {
            try ProxyControlCommand(line: line)
        } throws: { error in
            guard let error = error as? FaultProxyError else { return false }
            return error.code.description == code && error.message.contains(message)
        }
    }

    @Test("replies: ok with the toxics in force, or the error code and message; nothing changes on error")
    func replies() async throws {
        let proxy = FaultProxy(configuration: .init(upstreamHost: "127.0.0.1", upstreamPort: 9, logger: Logger(label: "test")))
        let added = await proxy.execute(line: "add latency latency=10")
        #expect(added.ok)
        #expect(added.toxics == ["latency name=latency direction=downstream latency=10 jitter=0"])
        let duplicate = await proxy.execute(line: "add latency latency=20")
        #expect(!duplicate.ok)
        #expect(duplicate.code == "duplicate_toxic")
        #expect(duplicate.toxics == added.toxics)
        let bad = await proxy.execute(line: "add slicer average_size=0")
        #expect(!bad.ok && bad.code == "invalid_toxic" && bad.error?.contains("average_size") == true)
        #expect(proxy.toxics.count == 1)
        let unknown = await proxy.execute(line: "remove nothing")
        #expect(!unknown.ok && unknown.code == "unknown_toxic")
        #expect(await proxy.execute(line: "update latency latency=30").toxics == ["latency name=latency direction=downstream latency=30 jitter=0"])
        #expect(await proxy.execute(line: "reset").toxics.isEmpty)
        let notStarted = await proxy.execute(line: "up")
        #expect(!notStarted.ok && notStarted.code == "not_running")
    }

    @Test("addresses parse, IPv6 in brackets; bad ones are rejected")
    func addresses() throws {
        #expect(try ProxyAddress(parsing: "127.0.0.1:7301") == ProxyAddress(host: "127.0.0.1", port: 7301))
        #expect(try ProxyAddress(parsing: "kmsd:0") == ProxyAddress(host: "kmsd", port: 0))
        #expect(try ProxyAddress(parsing: "[::1]:80") == ProxyAddress(host: "::1", port: 80))
        #expect(ProxyAddress(host: "::1", port: 80).description == "[::1]:80")
        for bad in ["", "host", ":80", "host:", "host:65536", "host:-1", "::1:80", "[::1]80", "host:http"] {
            #expect(throws: FaultProxyError(.invalidAddress, ""), "\(bad)") { try ProxyAddress(parsing: bad) }
        }
    }
}

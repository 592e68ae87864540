/// One line of the `keylake chaos proxy` control protocol, parsed.
///
/// Commands: `add SPEC` (fails if the name exists), `update SPEC` (adds or replaces), `remove NAME`,
/// `reset` (remove every toxic), `down`, `up`, `partition`, `list`. SPEC is a toxic spec as read by
/// ``Toxic/init(spec:)``.
public enum ProxyControlCommand: Sendable, Hashable {
    case add(Toxic)
    case update(Toxic)
    case remove(name: String)
    case reset
    case down
    case up
    case partition
    case list

    /// Parses one control line (surrounding blanks ignored, verb case-insensitive).
    ///
    /// - Throws: ``FaultProxyError`` `invalidCommand` for an unknown verb or missing/extra
    ///   arguments, `invalidToxic` for a bad spec.
    public init(line: String) throws {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = words.first?.lowercased() else {
            throw FaultProxyError(.invalidCommand, "empty command; expected add, update, remove, reset, down, up, partition or list")
        }
        let arguments = Array(words.dropFirst())
        func noArguments(_ command: Self) throws -> Self {
            guard arguments.isEmpty else { throw FaultProxyError(.invalidCommand, "\(verb) takes no arguments") }
            return command
        }
        switch verb {
        case "add":
            guard !arguments.isEmpty else { throw FaultProxyError(.invalidCommand, "add needs a toxic spec, e.g. 'add latency latency=200'") }
            self = .add(try Toxic(words: arguments))
        case "update", "set":
            guard !arguments.isEmpty else { throw FaultProxyError(.invalidCommand, "update needs a toxic spec") }
            self = .update(try Toxic(words: arguments))
        case "remove", "rm":
            guard arguments.count == 1 else { throw FaultProxyError(.invalidCommand, "remove takes exactly one toxic name") }
            self = .remove(name: arguments[0])
        case "reset": self = try noArguments(.reset)
        case "down": self = try noArguments(.down)
        case "up": self = try noArguments(.up)
        case "partition": self = try noArguments(.partition)
        case "list": self = try noArguments(.list)
        default:
            throw FaultProxyError(
                .invalidCommand, "unknown command '\(verb)'; expected add, update, remove, reset, down, up, partition or list")
        }
    }
}

/// The answer to a control command: written as one JSON line by `keylake chaos proxy`.
public struct ProxyControlReply: Sendable, Hashable, Codable {
    /// Whether the command was carried out.
    public var ok: Bool
    /// The error code (``FaultProxyError/Code``) when not ok.
    public var code: String?
    /// What went wrong, for people, when not ok.
    public var error: String?
    /// The link state after the command.
    public var link: LinkState
    /// The toxics in force after the command, as specs.
    public var toxics: [String]

    /// A reply.
    public init(ok: Bool, code: String? = nil, error: String? = nil, link: LinkState, toxics: [String]) {
        self.ok = ok
        self.code = code
        self.error = error
        self.link = link
        self.toxics = toxics
    }
}

extension FaultProxy {
    /// Carries out a control command and describes the outcome; never throws (errors are replies).
    public func execute(_ command: ProxyControlCommand) async -> ProxyControlReply {
        do {
            switch command {
            case .add(let toxic): try self.addToxic(toxic)
            case .update(let toxic): try self.setToxic(toxic)
            case .remove(let name): try self.removeToxic(named: name)
            case .reset: self.removeAllToxics()
            case .down: await self.down()
            case .up: try await self.up()
            case .partition: await self.partition()
            case .list: break
            }
            return self.reply()
        } catch {
            return self.reply(failure: error)
        }
    }

    /// Parses and carries out one control line (see ``ProxyControlCommand/init(line:)``).
    public func execute(line: String) async -> ProxyControlReply {
        do {
            return await self.execute(try ProxyControlCommand(line: line))
        } catch {
            return self.reply(failure: error)
        }
    }

    private func reply(failure: (any Error)? = nil) -> ProxyControlReply {
        var reply = ProxyControlReply(ok: failure == nil, link: self.linkState, toxics: self.toxics.map(\.spec))
        if let error = failure as? FaultProxyError {
            reply.code = error.code.description
            reply.error = error.message
        } else if let failure {
            reply.code = "error"
            reply.error = "\(failure)"
        }
        return reply
    }
}

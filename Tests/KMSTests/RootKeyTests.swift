import Foundation
import Testing

@testable import KMS

@Suite("RootKey")
struct RootKeyTests {
    @Test("create writes a 32-byte file with mode 0600 that loads back to the same key")
    func createThenLoad() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("root.key")
        let created = try RootKey.create(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect((attributes[.size] as? NSNumber)?.intValue == 32)
        let loaded = try RootKey.load(from: path)
        #expect(loaded.checkValue == created.checkValue)
        #expect("\(loaded)" == "RootKey(redacted)")
    }

    @Test("create never overwrites an existing file")
    func createRefusesToOverwrite() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("root.key")
        let first = try RootKey.create(at: path)
        #expect(throws: RootKeyError(code: .alreadyExists, message: "")) { try RootKey.create(at: path) }
        #expect(try RootKey.load(from: path).checkValue == first.checkValue)
    }

    @Test("load rejects files group or others can read", arguments: [0o644, 0o640, 0o604, 0o660, 0o666, 0o700 | 0o001])
    func insecureModes(mode: Int) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("root.key")
        try RootKey.create(at: path)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        let error = #expect(throws: RootKeyError.self) { try RootKey.load(from: path) }
        #expect(error?.code == .insecurePermissions)
        #expect(error?.message.contains(String(mode, radix: 8)) == true)
        #expect(error?.message.contains("0600") == true)
    }

    @Test("load accepts 0400")
    func readOnlyModeAccepted() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("root.key")
        try RootKey.create(at: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        _ = try RootKey.load(from: path)
    }

    @Test("load reports a missing file, a directory, and wrong lengths clearly", arguments: [0, 1, 31, 33, 64])
    func wrongLength(length: Int) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("root.key")
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: length), attributes: [.posixPermissions: 0o600]))
        let error = #expect(throws: RootKeyError.self) { try RootKey.load(from: path) }
        #expect(error?.code == .wrongLength)
    }

    @Test("load reports a missing file and a directory")
    func missingAndDirectory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: RootKeyError(code: .fileMissing, message: "")) { try RootKey.load(from: directory.file("absent")) }
        let subdirectory = directory.file("dir")
        try FileManager.default.createDirectory(atPath: subdirectory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        #expect(throws: RootKeyError(code: .notARegularFile, message: "")) { try RootKey.load(from: subdirectory) }
    }

    @Test("check value matches the independent implementation and detects another key")
    func checkValue() throws {
        let key = try RootKey(bytes: Hex.decode(KnownAnswerVectors.rootKey))
        #expect(Hex.encode(key.checkValue) == KnownAnswerVectors.rootKeyCheckValue)
        try key.verify(storedCheckValue: key.checkValue)
        let other = try RootKey(bytes: [UInt8](repeating: 1, count: 32))
        #expect(throws: RootKeyError(code: .mismatch, message: "")) { try other.verify(storedCheckValue: key.checkValue) }
        #expect(throws: RootKeyError(code: .mismatch, message: "")) { try key.verify(storedCheckValue: []) }
        #expect(throws: RootKeyError(code: .wrongLength, message: "")) { try RootKey(bytes: [UInt8](repeating: 1, count: 16)) }
    }
}

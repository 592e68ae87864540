import Foundation

/// Helpers shared by the fuzz targets: turning libFuzzer's bytes into fields and deterministic
/// choices, and failing loudly when a property of the code under test does not hold.

/// The fuzz input as an array.
public func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// Ends the run as a crash (libFuzzer saves the input) when `condition` is false: a property the
/// production code promises does not hold for this input.
public func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError("fuzz property violated: \(message())", file: file, line: line) }
}

/// Text from bytes the way a protobuf or JSON decoder hands strings over: invalid UTF-8 repaired.
public func text(_ bytes: some Collection<UInt8>) -> String {
    String(decoding: bytes, as: UTF8.self)
}

/// The input split at every `separator` byte (fields may be empty).
public func fields(_ bytes: [UInt8], separator: UInt8 = 0) -> [ArraySlice<UInt8>] {
    bytes.split(separator: separator, omittingEmptySubsequences: false)
}

/// FNV-1a over the bytes: a seed that follows the input, so a run is reproducible from the
/// saved input alone.
public func fnv1a(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }
    return hash
}

/// SplitMix64: a small deterministic generator for choices derived from the input.
public struct SplitMix64 {
    private var state: UInt64

    public init(seed: UInt64) { self.state = seed }

    public mutating func next() -> UInt64 {
        self.state &+= 0x9e37_79b9_7f4a_7c15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (bound > 0).
    public mutating func below(_ bound: Int) -> Int {
        Int(self.next() % UInt64(bound))
    }
}

// MARK: - Seed corpus

/// A seed input: a file name in the target's corpus directory and its bytes.
public struct Seed {
    public var name: String
    public var bytes: [UInt8]

    public init(_ name: String, _ bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }

    public init(_ name: String, _ text: String) {
        self.init(name, Array(text.utf8))
    }
}

/// libFuzzer's `LLVMFuzzerInitialize` hook, which runs before libFuzzer reads its flags: with
/// `--make-corpus=DIR` the target writes its seeds into DIR (made by production encoders or read
/// from the repository's fixtures, relative to the current directory) and exits.
public func makeCorpusIfAsked(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    seeds: () throws -> [Seed]
) {
    guard let arguments = argv.pointee else { return }
    let prefix = "--make-corpus="
    for index in 0..<Int(argc.pointee) {
        guard let argument = arguments[index].map({ String(cString: $0) }), argument.hasPrefix(prefix) else { continue }
        let directory = String(argument.dropFirst(prefix.count))
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let made = try seeds()
            for seed in made {
                try Data(seed.bytes).write(to: URL(fileURLWithPath: directory).appendingPathComponent(seed.name))
            }
            print("wrote \(made.count) seeds to \(directory)")
            exit(0)
        } catch {
            print("cannot make the corpus: \(error)")
            exit(1)
        }
    }
}

/// The lines of a fixture file, relative to the repository root (the current directory).
public func fixtureLines(_ path: String) throws -> [String] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
}

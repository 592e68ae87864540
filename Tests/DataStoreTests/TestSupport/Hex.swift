/// Hex helpers for fixtures.
enum Hex {
    static func decode(_ hex: String) -> [UInt8] {
        precondition(hex.count % 2 == 0, "odd-length hex")
        var bytes = [UInt8]()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}

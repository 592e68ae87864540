import Foundation

/// Formats a date as `yyyy-MM-ddTHH:mm:ssZ` in UTC — the text `Date.ISO8601FormatStyle()` gives
/// with its defaults — without Foundation's formatter, because every audited call formats one.
enum ISO8601Timestamp {
    /// The date, to the whole second (rounded down), in UTC.
    static func text(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = Self.civil(daysSinceEpoch: days)
        var output = [UInt8]()
        output.reserveCapacity(20)
        Self.append(year, width: 4, to: &output)
        output.append(UInt8(ascii: "-"))
        Self.append(month, width: 2, to: &output)
        output.append(UInt8(ascii: "-"))
        Self.append(day, width: 2, to: &output)
        output.append(UInt8(ascii: "T"))
        Self.append(secondOfDay / 3600, width: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        Self.append(secondOfDay / 60 % 60, width: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        Self.append(secondOfDay % 60, width: 2, to: &output)
        output.append(UInt8(ascii: "Z"))
        return String(decoding: output, as: UTF8.self)
    }

    /// The proleptic Gregorian year, month and day of a day count from 1970-01-01 (Howard
    /// Hinnant's `civil_from_days`).
    private static func civil(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func append(_ value: Int64, width: Int, to output: inout [UInt8]) {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var rest = value
        var index = width - 1
        while index >= 0 {
            digits[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            index -= 1
        }
        output.append(contentsOf: digits)
    }
}

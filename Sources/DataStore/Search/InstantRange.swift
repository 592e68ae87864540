/// The span of time an instant search value names, in milliseconds since 1970 (UTC),
/// half-open: `start ..< end`.
///
/// FHIR search values carry their precision: `2020` is the whole year, `2020-05` the month,
/// `2020-05-01` the day, `2020-05-01T10:00Z` the minute, `2020-05-01T10:00:00Z` the second and
/// `2020-05-01T10:00:00.5Z` the tenth of a second. Dates without a time are UTC days; a time
/// must carry a zone (`Z` or `±hh:mm`).
public struct InstantRange: Hashable, Sendable {
    /// The first millisecond in the range.
    public var start: Int64
    /// The first millisecond after the range.
    public var end: Int64

    /// Creates a range.
    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    /// Parses a FHIR date, dateTime or instant search value at any precision; `nil` when it is
    /// none of those.
    public init?(fhir text: String) {
        let bytes = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[from..<from + count] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func isByte(_ index: Int, _ character: Character) -> Bool {
            index < bytes.count && bytes[index] == character.asciiValue!
        }
        guard let year = number(0, 4), (1...9999).contains(year) else { return nil }
        if bytes.count == 4 {
            self.init(start: Self.milliseconds(year, 1, 1), end: Self.milliseconds(year + 1, 1, 1))
            return
        }
        guard isByte(4, "-"), let month = number(5, 2), (1...12).contains(month) else { return nil }
        if bytes.count == 7 {
            let next = month == 12 ? (year + 1, 1) : (year, month + 1)
            self.init(start: Self.milliseconds(year, month, 1), end: Self.milliseconds(next.0, next.1, 1))
            return
        }
        guard isByte(7, "-"), let day = number(8, 2), (1...FHIRDate.daysIn(month: month, year: year)).contains(day) else { return nil }
        let dayStart = Self.milliseconds(year, month, day)
        if bytes.count == 10 {
            self.init(start: dayStart, end: dayStart + 86_400_000)
            return
        }
        // Thh:mm[:ss[.fraction]](Z|±hh:mm)
        guard isByte(10, "T"), let hour = number(11, 2), hour <= 23, isByte(13, ":"), let minute = number(14, 2), minute <= 59 else {
            return nil
        }
        var index = 16
        var offset = Int64(hour) * 3_600_000 + Int64(minute) * 60_000
        var width: Int64 = 60_000
        if isByte(index, ":") {
            guard let second = number(index + 1, 2), second <= 59 else { return nil }
            offset += Int64(second) * 1000
            width = 1000
            index += 3
            if isByte(index, ".") {
                index += 1
                var digits = 0
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                    if digits < 3 {
                        width /= 10
                        offset += Int64(bytes[index] - UInt8(ascii: "0")) * width
                    }
                    digits += 1
                    index += 1
                }
                guard (1...9).contains(digits) else { return nil }
            }
        }
        var zone: Int64 = 0
        if isByte(index, "Z") {
            index += 1
        } else if isByte(index, "+") || isByte(index, "-") {
            guard let zoneHour = number(index + 1, 2), zoneHour <= 14, isByte(index + 3, ":"), let zoneMinute = number(index + 4, 2),
                zoneMinute <= 59
            else { return nil }
            zone = (Int64(zoneHour) * 3_600_000 + Int64(zoneMinute) * 60_000) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let start = dayStart + offset - zone
        self.init(start: start, end: start + width)
    }

    /// Milliseconds since 1970 at the start of a UTC day of the proleptic Gregorian calendar
    /// (Howard Hinnant's days-from-civil).
    static func milliseconds(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        let shiftedYear = Int64(month <= 2 ? year - 1 : year)
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * Int64(month > 2 ? month - 3 : month + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return (era * 146_097 + dayOfEra - 719_468) * 86_400_000
    }
}

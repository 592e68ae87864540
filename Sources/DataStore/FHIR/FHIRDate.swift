/// A calendar date at the precision FHIR wrote it: a year, a month or a day.
///
/// Parsed from FHIR `date`, `dateTime` and `instant` text. The time of day and the time zone
/// of a `dateTime` are checked for form and then dropped: search works on the calendar date as
/// written, which is what a clinician means by "born on" or "seen on".
public struct FHIRDate: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The precision of a date.
    public enum Precision: Int, Hashable, Sendable, Comparable {
        /// `YYYY`.
        case year
        /// `YYYY-MM`.
        case month
        /// `YYYY-MM-DD`.
        case day

        /// Orders year < month < day.
        public static func < (lhs: Precision, rhs: Precision) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The year, 1…9999.
    public let year: Int
    /// The month 1…12, when the precision is month or day.
    public let month: Int?
    /// The day of the month, when the precision is day.
    public let day: Int?

    /// Creates a date, or `nil` when the parts do not name a real calendar date.
    public init?(year: Int, month: Int? = nil, day: Int? = nil) {
        guard (1...9999).contains(year) else { return nil }
        if let month {
            guard (1...12).contains(month) else { return nil }
        }
        if let day {
            guard let month, (1...Self.daysIn(month: month, year: year)).contains(day) else { return nil }
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses FHIR `date`, `dateTime` or `instant` text, e.g. `1927`, `1927-05`,
    /// `1927-05-21`, `1989-05-09T20:35:22-04:00`, `2024-01-01T00:00:00.123Z`.
    ///
    /// Returns `nil` for anything else, including a time without a time zone (FHIR requires
    /// one) and impossible dates such as February 30.
    public init?(fhir text: String) {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func byte(_ index: Int, is character: Character) -> Bool {
            index < bytes.count && bytes[index] == character.asciiValue!
        }
        guard let year = number(0..<4) else { return nil }
        if bytes.count == 4 {
            self.init(year: year)
            return
        }
        guard byte(4, is: "-"), let month = number(5..<7) else { return nil }
        if bytes.count == 7 {
            self.init(year: year, month: month)
            return
        }
        guard byte(7, is: "-"), let day = number(8..<10) else { return nil }
        if bytes.count > 10 {
            guard Self.isValidTime(bytes[10...]) else { return nil }
        }
        self.init(year: year, month: month, day: day)
    }

    /// Checks `Thh:mm:ss[.fraction](Z|±hh:mm)`.
    private static func isValidTime(_ bytes: ArraySlice<UInt8>) -> Bool {
        let time = Array(bytes)
        func twoDigits(_ at: Int, max: Int) -> Bool {
            guard at + 2 <= time.count else { return false }
            let tens = time[at], ones = time[at + 1]
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(tens),
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(ones)
            else { return false }
            return Int(tens - UInt8(ascii: "0")) * 10 + Int(ones - UInt8(ascii: "0")) <= max
        }
        guard time.count >= 9, time[0] == UInt8(ascii: "T"), twoDigits(1, max: 23), time[3] == UInt8(ascii: ":"),
            twoDigits(4, max: 59), time[6] == UInt8(ascii: ":"), twoDigits(7, max: 60)
        else { return false }
        var index = 9
        if index < time.count && time[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < time.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(time[index]) { index += 1 }
            guard index > start, index - start <= 9 else { return false }
        }
        guard index < time.count else { return false }
        if time[index] == UInt8(ascii: "Z") { return index + 1 == time.count }
        guard time[index] == UInt8(ascii: "+") || time[index] == UInt8(ascii: "-") else { return false }
        return time.count == index + 6 && twoDigits(index + 1, max: 14) && time[index + 3] == UInt8(ascii: ":")
            && twoDigits(index + 4, max: 59)
    }

    /// The precision.
    public var precision: Precision {
        if self.day != nil { return .day }
        if self.month != nil { return .month }
        return .year
    }

    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    public var description: String {
        var text = Self.pad(self.year, 4)
        if let month { text += "-" + Self.pad(month, 2) }
        if let day { text += "-" + Self.pad(day, 2) }
        return text
    }

    /// The first day this date covers (January 1st for a year, the 1st for a month).
    public var firstDay: FHIRDate {
        FHIRDate(year: self.year, month: self.month ?? 1, day: self.day ?? 1)!
    }

    /// The last day this date covers.
    public var lastDay: FHIRDate {
        let month = self.month ?? 12
        return FHIRDate(year: self.year, month: month, day: self.day ?? Self.daysIn(month: month, year: self.year))!
    }

    /// The day after this day-precision date, or `nil` after 9999-12-31.
    public var nextDay: FHIRDate? {
        let day = self.lastDay
        if day.day! < Self.daysIn(month: day.month!, year: day.year) {
            return FHIRDate(year: day.year, month: day.month, day: day.day! + 1)
        }
        if day.month! < 12 { return FHIRDate(year: day.year, month: day.month! + 1, day: 1) }
        return FHIRDate(year: day.year + 1, month: 1, day: 1)
    }

    /// The day before this day-precision date, or `nil` before 0001-01-01.
    public var previousDay: FHIRDate? {
        let day = self.firstDay
        if day.day! > 1 { return FHIRDate(year: day.year, month: day.month, day: day.day! - 1) }
        if day.month! > 1 {
            return FHIRDate(year: day.year, month: day.month! - 1, day: Self.daysIn(month: day.month! - 1, year: day.year))
        }
        return FHIRDate(year: day.year - 1, month: 12, day: 31)
    }

    /// Orders by (year, month, day), a missing part before any present one.
    public static func < (lhs: FHIRDate, rhs: FHIRDate) -> Bool {
        (lhs.year, lhs.month ?? 0, lhs.day ?? 0) < (rhs.year, rhs.month ?? 0, rhs.day ?? 0)
    }

    /// The number of days in a month of the proleptic Gregorian calendar.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

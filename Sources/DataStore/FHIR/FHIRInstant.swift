/// Formats server timestamps as FHIR `instant` text.
public enum FHIRInstant {
    /// `YYYY-MM-DDThh:mm:ss.sssZ` for a time in milliseconds since 1970-01-01T00:00:00Z (UTC).
    ///
    /// Computed arithmetically (days-from-civil), so it does not depend on a locale or a
    /// formatter; valid for years 1970…9999.
    public static func format(millisecondsSince1970 milliseconds: Int64) -> String {
        let millisecondsPerDay: Int64 = 86_400_000
        let days = milliseconds >= 0 ? milliseconds / millisecondsPerDay : (milliseconds - millisecondsPerDay + 1) / millisecondsPerDay
        let remainder = milliseconds - days * millisecondsPerDay
        // Howard Hinnant's civil_from_days.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let hours = remainder / 3_600_000
        let minutes = remainder / 60_000 % 60
        let seconds = remainder / 1000 % 60
        let millis = remainder % 1000
        let pad = { (value: Int64, width: Int) in FHIRDate.pad(Int(value), width) }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hours, 2)):\(pad(minutes, 2)):\(pad(seconds, 2)).\(pad(millis, 3))Z"
    }
}

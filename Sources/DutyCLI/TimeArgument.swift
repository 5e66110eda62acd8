import DutyCore
import Foundation

/// Times on the command line: ISO dates and date-times, `now`, `today`, `yesterday`, `tomorrow`, and relative
/// forms `-2d`, `-4h`, `+1w` (any duration unit).
enum TimeArgument {
    static func parse(_ text: String, now: Date, timeZone: TimeZone) throws(DutyError) -> Date {
        switch text {
        case "now": return now
        case "today": return startOfDay(now, timeZone)
        case "yesterday": return startOfDay(now.addingTimeInterval(-86_400), timeZone)
        case "tomorrow": return startOfDay(now.addingTimeInterval(86_400), timeZone)
        default: break
        }
        if let first = text.first, first == "-" || first == "+", let d = Duration(parsing: String(text.dropFirst())) {
            return now.addingTimeInterval(first == "-" ? -d.timeInterval : d.timeInterval)
        }
        if let date = ISOTime.parse(text, timeZone: timeZone) { return date }
        throw DutyError(
            .usage,
            "invalid time '\(text)': use an ISO date or date-time (2024-09-10, 2024-09-10T09:30:00Z), now, today, yesterday, tomorrow, or a relative time like -2d or -4h"
        )
    }

    /// Whether `text` names a day rather than an instant: a bare date, `today`, `yesterday`, `tomorrow`, or a
    /// relative time in days or weeks (`+1w`). An absence `--to` such a day lasts to the end of it.
    static func namesADay(_ text: String) -> Bool {
        if ["today", "yesterday", "tomorrow"].contains(text) || ISOTime.isDateOnly(text) { return true }
        guard let first = text.first, first == "-" || first == "+",
            let d = Duration(parsing: String(text.dropFirst()))
        else { return false }
        return d.unit == .days || d.unit == .weeks
    }

    static func startOfDay(_ date: Date, _ timeZone: TimeZone) -> Date {
        ISOTime.parse(ISOTime.formatDate(date, in: timeZone), timeZone: timeZone)!
    }
}

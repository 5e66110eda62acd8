import Foundation

/// ISO 8601 times as duty reads and writes them: UTC with a `Z` on output; dates, date-times and offsets on input.
public enum ISOTime {
    /// `2024-09-10T09:30:00Z`. Sub-second parts are dropped.
    public static func format(_ date: Date) -> String {
        let t = Int64(date.timeIntervalSince1970.rounded(.down))
        var days = t / 86_400
        var secs = t % 86_400
        if secs < 0 {
            secs += 86_400
            days -= 1
        }
        let (y, m, d) = civil(fromDays: days)
        guard (0...9999).contains(y) else {
            return
                "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))Z"
        }
        // Digits straight into the string's bytes: every event's time goes through here.
        return String(unsafeUninitializedCapacity: 20) { out in
            var n = 0
            func put(_ v: Int64, _ width: Int, then separator: UInt8) {
                var divisor: Int64 = 1
                for _ in 1..<width { divisor *= 10 }
                while divisor > 0 {
                    out[n] = UInt8(48 + (v / divisor) % 10)
                    n += 1
                    divisor /= 10
                }
                out[n] = separator
                n += 1
            }
            put(y, 4, then: UInt8(ascii: "-"))
            put(m, 2, then: UInt8(ascii: "-"))
            put(d, 2, then: UInt8(ascii: "T"))
            put(secs / 3600, 2, then: UInt8(ascii: ":"))
            put(secs / 60 % 60, 2, then: UInt8(ascii: ":"))
            put(secs % 60, 2, then: UInt8(ascii: "Z"))
            return n
        }
    }

    /// `2024-09-10`: the calendar date of `date` in `timeZone`.
    public static func formatDate(_ date: Date, in timeZone: TimeZone) -> String {
        let t = Int64(date.timeIntervalSince1970.rounded(.down)) + Int64(timeZone.secondsFromGMT(for: date))
        var days = t / 86_400
        if t % 86_400 < 0 { days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }

    /// Parses `YYYY-MM-DD` (midnight in `timeZone`), or `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z`, `±HH:MM`,
    /// `±HHMM` or no zone (then local time in `timeZone`). A space may stand for the `T`.
    public static func parse(_ text: String, timeZone: TimeZone) -> Date? {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2) else {
            return nil
        }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        let dayNumber = days(fromCivil: year, month, day)
        if i == b.count {
            return localToUTC(dayNumber * 86_400, timeZone: timeZone)
        }
        guard i < b.count, b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: " ") else { return nil }
        i += 1
        guard let hour = digits(2), hour < 24, expect(":"), let minute = digits(2), minute < 60 else { return nil }
        var second: Int64 = 0
        var fraction = 0.0
        if i < b.count, b[i] == UInt8(ascii: ":") {
            i += 1
            guard let s = digits(2), s < 61 else { return nil }
            second = s
            if i < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",") {
                i += 1
                var scale = 0.1
                var any = false
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    fraction += Double(b[i] - 48) * scale
                    scale /= 10
                    i += 1
                    any = true
                }
                guard any else { return nil }
            }
        }
        let local = dayNumber * 86_400 + hour * 3600 + minute * 60 + second
        if i == b.count {
            return localToUTC(local, timeZone: timeZone).addingTimeInterval(fraction)
        }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            guard i + 1 == b.count else { return nil }
            return Date(timeIntervalSince1970: Double(local) + fraction)
        }
        guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") else { return nil }
        let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
        i += 1
        guard let oh = digits(2), oh <= 14 else { return nil }
        _ = expect(":")
        guard let om = digits(2), om < 60, i == b.count else { return nil }
        return Date(timeIntervalSince1970: Double(local - sign * (oh * 3600 + om * 60)) + fraction)
    }

    /// True when the text is a bare `YYYY-MM-DD` date.
    public static func isDateOnly(_ text: String) -> Bool {
        text.utf8.count == 10 && parse(text, timeZone: TimeZone(identifier: "UTC")!) != nil
    }

    /// The instant when local wall-clock time `local` (seconds since 1970 as if UTC) occurs in `timeZone`, chosen
    /// as RFC 5545 and java.time choose: a time the clocks repeat (they go back) is its first occurrence, with
    /// the offset before the change; a time the clocks skip (they go forward) is moved on by the gap, so 01:30 in
    /// a 01:00-02:00 gap is 02:30, and a date whose midnight does not exist starts at its first instant.
    /// Assumes at most one offset change within a day either side, as in every real zone.
    public static func localToUTC(_ local: Int64, timeZone: TimeZone) -> Date {
        let l = Double(local)
        func offset(_ t: Double) -> Double { Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: t))) }
        let early = offset(l - 86_400)
        let late = offset(l + 86_400)
        let first = l - early
        let second = l - late
        let firstValid = offset(first) == early
        let secondValid = offset(second) == late
        switch (firstValid, secondValid) {
        case (true, true): return Date(timeIntervalSince1970: min(first, second))
        case (false, true): return Date(timeIntervalSince1970: second)
        default: return Date(timeIntervalSince1970: first)  // valid, or in a gap: the offset before it
        }
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}

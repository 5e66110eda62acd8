import Foundation

extension TimeZone {
    /// UTC, the zone when none is configured.
    public static let utc = TimeZone(identifier: "UTC")!
}

/// A length of time written as an integer and a unit: `s`, `m`, `h`, `d` or `w` (`"90s"`, `"4h"`, `"28d"`, `"2w"`).
public struct Duration: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Unit: Character, Sendable, CaseIterable {
        case seconds = "s"
        case minutes = "m"
        case hours = "h"
        case days = "d"
        case weeks = "w"

        public var seconds: Int64 {
            switch self {
            case .seconds: 1
            case .minutes: 60
            case .hours: 3_600
            case .days: 86_400
            case .weeks: 604_800
            }
        }
    }

    /// The length in seconds; what comparisons use.
    public var seconds: Int64
    /// How it was written, so it prints back the same way.
    public var amount: Int64
    public var unit: Unit

    public init(_ amount: Int64, _ unit: Unit) {
        self.amount = amount
        self.unit = unit
        self.seconds = amount * unit.seconds
    }

    public static func days(_ n: Int64) -> Duration { Duration(n, .days) }
    public static func hours(_ n: Int64) -> Duration { Duration(n, .hours) }

    /// Parses `"28d"`; nil for anything else (no sign, no spaces, no fractions, at most 9 digits).
    public init?(parsing text: String) {
        guard let unitChar = text.last, let unit = Unit(rawValue: unitChar) else { return nil }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let amount = Int64(digits)
        else { return nil }
        self.init(amount, unit)
    }

    /// Why a string is not a duration, for diagnostics.
    public static func parseError(_ text: String) -> String {
        "invalid duration '\(text)': write an integer and a unit s, m, h, d or w, like \"4h\" or \"28d\""
    }

    /// The instant this long after `date`. Days and weeks are nominal (RFC 5545 §3.3.6): they advance the
    /// calendar date in `zone` and keep the local time, so "4d" from 09:00 on 24 Oct 2024 in Europe/London is
    /// 09:00 on 28 Oct although the clocks went back between (97 hours). Seconds, minutes and hours are exact.
    /// A local time the clocks skip is moved on by the gap, one they repeat is its first occurrence
    /// (`ISOTime.localToUTC`).
    public func after(_ date: Date, in zone: TimeZone) -> Date { Self.shift(date, by: amount, unit, zone) }

    /// The instant this long before `date`, by the same rules as `after`.
    public func before(_ date: Date, in zone: TimeZone) -> Date { Self.shift(date, by: -amount, unit, zone) }

    /// This duration `times` times over (`times` >= 0), as written: `2w * 3` is `6w`.
    public func times(_ times: Int64) -> Duration { Duration(amount * times, unit) }

    /// How many whole periods of this duration fit between `start` and `end` on the calendar of `zone` (0 when
    /// `end` is before `start` or the duration is not positive).
    public func periods(from start: Date, to end: Date, in zone: TimeZone) -> Int {
        guard seconds > 0, end >= start else { return 0 }
        let elapsed = end.timeIntervalSince(start)
        var k = Int64(elapsed / Double(seconds))
        let rest = elapsed - Double(k) * Double(seconds)
        // Exact units divide; nominal days differ from 24 hours only by the net change of offset between the two
        // instants (at most a few hours in any zone): away from a boundary the division is already the answer.
        if unit.seconds < 86_400 || (rest > Self.slack && Double(seconds) - rest > Self.slack) { return Int(k) }
        // Nominal days differ from 24 hours by a clock change at most: step to the exact count.
        while k > 0 && times(k).after(start, in: zone) > end { k -= 1 }
        while times(k + 1).after(start, in: zone) <= end { k += 1 }
        return Int(k)
    }

    /// More than any zone's change of offset (two hours, double summer time), in seconds.
    static let slack = 3.0 * 3_600

    /// Whether this long has passed from `start` at `now` (`now >= after(start)`), without the calendar when
    /// `now` is hours away from the boundary: what a cycle asks of every waiting referral.
    public func hasPassed(since start: Date, at now: Date, in zone: TimeZone) -> Bool {
        let exact = now.timeIntervalSince(start) - Double(seconds)
        if unit.seconds < 86_400 || abs(exact) > Self.slack { return exact >= 0 }
        return now >= after(start, in: zone)
    }

    private static func shift(_ date: Date, by amount: Int64, _ unit: Unit, _ zone: TimeZone) -> Date {
        switch unit {
        case .seconds, .minutes, .hours:
            return date.addingTimeInterval(Double(amount * unit.seconds))
        case .days, .weeks:
            let days = amount * (unit == .weeks ? 7 : 1)
            let t = date.timeIntervalSince1970
            let whole = t.rounded(.down)
            let local = Int64(whole) + Int64(zone.secondsFromGMT(for: date))
            return ISOTime.localToUTC(local + days * 86_400, timeZone: zone).addingTimeInterval(t - whole)
        }
    }

    public var timeInterval: Double { Double(seconds) }
    public var days: Double { Double(seconds) / 86_400 }

    public var description: String { "\(amount)\(unit.rawValue)" }

    public static func < (a: Duration, b: Duration) -> Bool { a.seconds < b.seconds }
    public static func == (a: Duration, b: Duration) -> Bool { a.seconds == b.seconds }
    public func hash(into hasher: inout Hasher) { hasher.combine(seconds) }
}

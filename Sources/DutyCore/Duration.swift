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

    public var timeInterval: Double { Double(seconds) }
    public var days: Double { Double(seconds) / 86_400 }

    public var description: String { "\(amount)\(unit.rawValue)" }

    public static func < (a: Duration, b: Duration) -> Bool { a.seconds < b.seconds }
    public static func == (a: Duration, b: Duration) -> Bool { a.seconds == b.seconds }
    public func hash(into hasher: inout Hasher) { hasher.combine(seconds) }
}

import Foundation
import Testing

@testable import DutyCore

@Suite struct DurationTests {
    @Test(arguments: [
        ("90s", 90), ("4h", 14_400), ("28d", 2_419_200), ("2w", 1_209_600), ("15m", 900), ("0d", 0),
    ])
    func parses(text: String, seconds: Int64) {
        #expect(Duration(parsing: text)?.seconds == seconds)
        #expect(Duration(parsing: text)?.description == text)
    }

    @Test(arguments: ["", "d", "7", "7x", "-1d", "1.5d", "7 d", " 7d", "7D", "1234567890d"])
    func rejects(text: String) {
        #expect(Duration(parsing: text) == nil)
    }

    @Test func comparesBySeconds() {
        #expect(Duration(parsing: "1w")! == Duration(parsing: "7d")!)
        #expect(Duration(parsing: "23h")! < Duration(parsing: "1d")!)
    }
}

@Suite struct ISOTimeTests {
    let london = TimeZone(identifier: "Europe/London")!

    @Test func bareDateIsLocalMidnight() {
        // Summer time: midnight in London is 23:00 UTC the day before.
        #expect(ISOTime.format(ISOTime.parse("2024-09-10", timeZone: london)!) == "2024-09-09T23:00:00Z")
        // Winter: GMT.
        #expect(ISOTime.format(ISOTime.parse("2024-01-10", timeZone: london)!) == "2024-01-10T00:00:00Z")
    }

    @Test(arguments: [
        ("2024-09-10T09:30:00Z", "2024-09-10T09:30:00Z"),
        ("2024-09-10T09:30Z", "2024-09-10T09:30:00Z"),
        ("2024-09-10T10:30:00+01:00", "2024-09-10T09:30:00Z"),
        ("2024-09-10T10:30:00+0100", "2024-09-10T09:30:00Z"),
        ("2024-09-10T09:30:00.750Z", "2024-09-10T09:30:00Z"),
        ("2024-09-10 10:30:00", "2024-09-10T09:30:00Z"),
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
    ])
    func parsesDateTimes(text: String, expected: String) {
        #expect(ISOTime.parse(text, timeZone: london).map(ISOTime.format) == expected)
    }

    @Test(arguments: [
        "2024-13-01", "2023-02-29", "2024-09-10T25:00:00Z", "2024-9-10", "yesterday", "2024-09-10T09:30:00Q", "",
        "2024-09-10T09:30:00+25:00",
    ])
    func rejects(text: String) {
        #expect(ISOTime.parse(text, timeZone: london) == nil)
    }

    @Test func formatsDatesInZone() {
        let t = ISOTime.parse("2024-09-09T23:30:00Z", timeZone: london)!
        #expect(ISOTime.formatDate(t, in: london) == "2024-09-10")
        #expect(ISOTime.formatDate(t, in: TimeZone(identifier: "UTC")!) == "2024-09-09")
    }

    @Test func formatsEveryFieldZeroPadded() {
        for text in [
            "0005-03-04T05:06:07Z", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-02-29T12:00:09Z",
        ] {
            #expect(ISOTime.format(ISOTime.parse(text, timeZone: london)!) == text)
        }
        // JSON quoting: a short plain string, and a long one with every kind of escape.
        let long = "a\"b\\c\n\u{1}\té🙂 and a string too long to be stored inline"
        #expect(JSONValue.string("plain").serialized() == "\"plain\"")
        #expect(
            JSONValue.string(long).serialized()
                == "\"a\\\"b\\\\c\\n\\u0001\\té🙂 and a string too long to be stored inline\"")
    }

    @Test func roundTripsAcrossCenturies() {
        for days in stride(from: -700_000, through: 2_900_000, by: 997) {
            let date = Date(timeIntervalSince1970: Double(days) * 86_400 + 3_723)
            let text = ISOTime.format(date)
            #expect(ISOTime.parse(text, timeZone: london) == date, "\(text)")
        }
    }
}

/// Canonical numbers are RFC 8785's (ECMAScript's Number.prototype.toString), so a verifier built from the README
/// or from RFC 8785 recomputes every hash.
@Suite struct CanonicalNumberTests {
    static let cases: [(Double, String)] = [
        (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-1.5, "-1.5"), (0.1, "0.1"), (0.1 + 0.2, "0.30000000000000004"),
        (4.35, "4.35"), (1e15, "1000000000000000"), (1e15 + 1, "1000000000000001"), (1e16, "10000000000000000"),
        (9_007_199_254_740_992, "9007199254740992"), (1e20, "100000000000000000000"), (1e21, "1e+21"),
        (1e23, "1e+23"), (Double("295147905179352830000")!, "295147905179352830000"), (0.000001, "0.000001"),
        (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (333_333_333.333_333_3, "333333333.3333333"),
        (1.797_693_134_862_315_7e308, "1.7976931348623157e+308"), (Double.leastNonzeroMagnitude, "5e-324"),
        (123.456, "123.456"),
        (12.3, "12.3"), (12.300000000000002, "12.300000000000002"), (-1e-7, "-1e-7"), (1234.5, "1234.5"),
    ]

    @Test(arguments: cases)
    func writesECMAScriptNumbers(value: Double, text: String) {
        #expect(JSONValue.number(value).serialized() == text)
    }

    @Test func integersAreExactAndNonFiniteIsNull() {
        #expect(JSONValue.int(9_007_199_254_740_993).serialized() == "9007199254740993")
        #expect(JSONValue.number(.infinity).serialized() == "null")
    }
}

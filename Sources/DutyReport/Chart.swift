import DutyCore
import Foundation

/// Charts for people who do not use a terminal (a board, a scrutiny panel, CQC): hand-written SVG, inline in a
/// page, that prints in grey. Shared by `duty report` and the simulator.
public enum Axis {
    /// Round ticks from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten, four to six of them
    /// (0, 20, 40, 60, 80, 100 rather than 0, 81, 162, 242).
    public static func ticks(upTo max: Double) -> [Double] {
        let top = Swift.max(max, 5)  // counts: at least 0 to 5 in steps of 1, never 0.2
        let rough = top / 5
        let power = pow(10, (log10(rough)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { top / $0 <= 6 } ?? power * 10
        let count = Int((top / step).rounded(.up))
        return (0...count).map { Double($0) * step }
    }

    /// The months a table of monthly figures has for the period `from` to `to` in `zone`: each row's start (the
    /// first is `from` itself, a part month when `from` is not the first of a month) and its label (`Sep 2026` in
    /// January and on the first row, else `Oct`). Row i runs to row i+1's start, the last to `to`.
    public static func monthRows(from: Date, to: Date, zone: TimeZone) -> [(Date, String)] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let first = calendar.date(from: calendar.dateComponents([.year, .month], from: from))!
        return months(from: first, to: to, zone: zone).enumerated().map { i, month in
            (i == 0 ? from : month.0, month.1)
        }
    }

    /// The first instant of each month from `from` up to (not including) `to` in `zone` (the ticks of a time axis), labelled
    /// `Jan 2025` in January and at the start, else `Feb`.
    public static func months(from: Date, to: Date, zone: TimeZone) -> [(Date, String)] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        var parts = calendar.dateComponents([.year, .month], from: from)
        var out: [(Date, String)] = []
        while let start = calendar.date(from: parts), start < to {
            if start >= from {
                let m = parts.month! - 1
                out.append((start, m == 0 || out.isEmpty ? "\(names[m]) \(parts.year!)" : names[m]))
            }
            parts.month! += 1
            if parts.month! > 12 {
                parts.month = 1
                parts.year! += 1
            }
        }
        return out
    }
}

/// One line of a chart: a level, with its value over time.
public struct Series: Sendable {
    public var name: String
    public var points: [(Date, Double)]

    public init(name: String, points: [(Date, Double)]) {
        self.name = name
        self.points = points
    }
}

/// A chart of values over time: months on the time axis, round ticks, one line per series in the order given
/// (a policy's levels, highest rank first), each with its own dash pattern and shade so a grey print tells
/// them apart; the legend names them in that order.
public struct TimeChart: Sendable {
    public var title: String
    public var series: [Series]
    public var from: Date
    public var to: Date
    public var zone: TimeZone
    public var valueLabel: String
    /// Instants marked with a dashed vertical line and a label at the top (when duty's log begins).
    public var marks: [(Date, String)]

    public init(
        title: String, series: [Series], from: Date, to: Date, zone: TimeZone, valueLabel: String,
        marks: [(Date, String)] = []
    ) {
        self.title = title
        self.series = series
        self.from = from
        self.to = to
        self.zone = zone
        self.valueLabel = valueLabel
        self.marks = marks
    }

    /// Line styles by position: colour (dark enough for grey), width, dash. Ten, each with its own dash pattern,
    /// so that a team taking several kinds (three policies' levels, nine lines) prints with no two alike.
    static let styles: [(colour: String, width: Double, dash: String)] = [
        ("#a93226", 2.5, ""), ("#b9770e", 2, "7 4"), ("#1e8449", 2, "2 3"), ("#2e4053", 1.5, "9 3 2 3"),
        ("#6c3483", 1.5, "1 2"), ("#a93226", 1.5, "12 3"), ("#b9770e", 1.5, "4 2 1 2"), ("#1e8449", 1.5, "6 2 1 2 1 2"),
        ("#2e4053", 2.5, "3 6"), ("#6c3483", 2.5, "14 4 2 4"),
    ]

    public func svg(width: Double = 680, height: Double = 250) -> String {
        let (left, right, top, bottom) = (52.0, 120.0, 30.0, 40.0)
        let plotW = width - left - right
        let plotH = height - top - bottom
        let span = max(1, to.timeIntervalSince(from))
        let maxValue = series.flatMap { $0.points.map(\.1) }.max() ?? 0
        let ticks = Axis.ticks(upTo: maxValue)
        let yMax = ticks.last ?? 1
        func x(_ d: Date) -> Double { left + plotW * min(1, max(0, d.timeIntervalSince(from) / span)) }
        func y(_ v: Double) -> Double { top + plotH * (1 - v / yMax) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(Page.escape(title))\">\n"
        out += "<text x=\"\(f(left))\" y=\"18\" class=\"chart-title\">\(Page.escape(title))</text>\n"
        for t in ticks {
            out +=
                "<line x1=\"\(f(left))\" y1=\"\(f(y(t)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y(t)))\" stroke=\"#ddd\"/>\n"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y(t) + 4))\" text-anchor=\"end\">\(Render.number(t))</text>\n"
        }
        for (start, label) in Axis.months(from: from, to: to, zone: zone) {
            let xx = x(start)
            out +=
                "<line x1=\"\(f(xx))\" y1=\"\(f(top + plotH))\" x2=\"\(f(xx))\" y2=\"\(f(top + plotH + 4))\" stroke=\"#555\"/>\n"
            // "Jan 2025": the month on the axis, the year under it.
            let parts = label.split(separator: " ")
            out += "<text x=\"\(f(xx + 2))\" y=\"\(f(top + plotH + 14))\">\(parts[0])</text>\n"
            if parts.count > 1 { out += "<text x=\"\(f(xx + 2))\" y=\"\(f(top + plotH + 26))\">\(parts[1])</text>\n" }
        }
        out +=
            "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\" stroke=\"#333\"/>\n"
        out += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"#333\"/>\n"
        out +=
            "<text x=\"12\" y=\"\(f(top + plotH / 2))\" transform=\"rotate(-90 12 \(f(top + plotH / 2)))\" text-anchor=\"middle\">\(Page.escape(valueLabel))</text>\n"
        for (at, label) in marks where at > from && at < to {
            let xx = x(at)
            out +=
                "<line class=\"mark\" x1=\"\(f(xx))\" y1=\"\(f(top))\" x2=\"\(f(xx))\" y2=\"\(f(top + plotH))\" stroke=\"#777\" stroke-dasharray=\"3 3\"/>\n"
            out += "<text x=\"\(f(xx - 4))\" y=\"\(f(top + 10))\" text-anchor=\"end\">\(Page.escape(label))</text>\n"
        }
        for (i, s) in series.enumerated() {
            let style = Self.styles[i % Self.styles.count]
            let dash = style.dash.isEmpty ? "" : " stroke-dasharray=\"\(style.dash)\""
            let points = s.points.map { "\(f(x($0.0))),\(f(y($0.1)))" }.joined(separator: " ")
            out +=
                "<polyline class=\"series\" data-points=\"\(s.points.count)\" fill=\"none\" stroke=\"\(style.colour)\" stroke-width=\"\(style.width)\"\(dash) points=\"\(points)\"/>\n"
            let ly = top + 10 + Double(i) * 18
            out +=
                "<line x1=\"\(f(left + plotW + 12))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW + 40))\" y2=\"\(f(ly))\" stroke=\"\(style.colour)\" stroke-width=\"\(style.width)\"\(dash)/>\n"
            out += "<text x=\"\(f(left + plotW + 46))\" y=\"\(f(ly + 4))\">\(Page.escape(s.name))</text>\n"
        }
        return out + "</svg>\n"
    }
}

/// Numbers as people read them: whole numbers without decimals, else one decimal place.
enum Render {
    static func number(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(format: "%.1f", d)
    }
}

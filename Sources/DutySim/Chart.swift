import Foundation

/// A hand-written SVG chart of the waiting list over time, one line per level, top rank first in the legend.
public enum Chart {
    static let palette = ["#2980b9", "#8e44ad", "#7f8c8d", "#16a085", "#d35400", "#34495e"]
    /// Level names of the shipped policies in red / amber / green families; others take the palette.
    static let named: [String: (String, String)] = [
        "red": ("#c0392b", ""), "high": ("#c0392b", "6 3"), "p1": ("#c0392b", "2 2"),
        "amber": ("#e67e22", ""), "medium": ("#e67e22", "6 3"), "p2": ("#e67e22", "2 2"),
        "green": ("#27ae60", ""), "low": ("#27ae60", "6 3"), "p3": ("#27ae60", "2 2"),
    ]

    public static func svg(_ report: SimReport, title: String) -> String {
        let width = 900.0
        let height = 420.0
        let left = 60.0
        let right = 170.0
        let top = 40.0
        let bottom = 50.0
        let plotW = width - left - right
        let plotH = height - top - bottom
        let levels = report.levelOrder.filter { l in report.series.contains { ($0.1[l] ?? 0) > 0 } }
        let maxY = max(1, report.series.map { s in levels.map { s.1[$0] ?? 0 }.max() ?? 0 }.max() ?? 1)
        let maxX = max(1, report.series.last?.0 ?? 1)
        func x(_ day: Int) -> Double { left + plotW * Double(day) / Double(maxX) }
        func y(_ v: Int) -> Double { top + plotH * (1 - Double(v) / Double(maxY)) }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="24" font-size="15" font-weight="bold">\(esc(title))</text>

            """
        // Axes and grid.
        let ticks = 5
        for i in 0...ticks {
            let v = Int((Double(maxY) * Double(i) / Double(ticks)).rounded())
            let yy = y(v)
            out += "<line x1=\"\(left)\" y1=\"\(yy)\" x2=\"\(left + plotW)\" y2=\"\(yy)\" stroke=\"#ddd\"/>\n"
            out += "<text x=\"\(left - 8)\" y=\"\(yy + 4)\" text-anchor=\"end\">\(v)</text>\n"
        }
        for i in 0...6 {
            let day = Int((Double(maxX) * Double(i) / 6).rounded())
            out += "<text x=\"\(x(day))\" y=\"\(top + plotH + 18)\" text-anchor=\"middle\">day \(day)</text>\n"
        }
        out +=
            "<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(left + plotW)\" y2=\"\(top + plotH)\" stroke=\"black\"/>\n"
        out += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotH)\" stroke=\"black\"/>\n"
        out +=
            "<text x=\"\(left + plotW / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">days since the start</text>\n"
        out +=
            "<text x=\"16\" y=\"\(top + plotH / 2)\" transform=\"rotate(-90 16 \(top + plotH / 2))\" text-anchor=\"middle\">waiting</text>\n"
        for (i, level) in levels.enumerated() {
            let (colour, dash) = named[level] ?? (palette[i % palette.count], "")
            let dashed = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
            let points = report.series.map { "\(x($0.0)),\(y($0.1[level] ?? 0))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dashed) points=\"\(points)\"/>\n"
            let ly = top + 10 + Double(i) * 20
            out +=
                "<line x1=\"\(left + plotW + 20)\" y1=\"\(ly)\" x2=\"\(left + plotW + 44)\" y2=\"\(ly)\" stroke=\"\(colour)\" stroke-width=\"3\"\(dashed)/>\n"
            out += "<text x=\"\(left + plotW + 50)\" y=\"\(ly + 4)\">\(esc(level))</text>\n"
        }
        out += "</svg>\n"
        return out
    }
}

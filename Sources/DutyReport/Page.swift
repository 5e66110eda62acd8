import Foundation

/// A self-contained HTML page: inline CSS and SVG, no scripts, no fetches, laid out for A4.
public struct Page: Sendable {
    public var title: String
    public var subtitle: String
    /// Heading and HTML body of each section, in order.
    public var sections: [(heading: String, html: String)] = []

    public init(title: String, subtitle: String) {
        self.title = title
        self.subtitle = subtitle
    }

    public mutating func add(_ heading: String, _ html: String) { sections.append((heading, html)) }

    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A table: headers, and rows of cells (escaped); numeric columns right-aligned.
    public static func table(_ headers: [String], _ rows: [[String]], numeric: Set<Int> = []) -> String {
        var out = "<table>\n<thead><tr>"
        for (i, h) in headers.enumerated() {
            out += "<th\(numeric.contains(i) ? " class=\"n\"" : "")>\(escape(h))</th>"
        }
        out += "</tr></thead>\n<tbody>\n"
        for r in rows {
            out += "<tr>"
            for (i, c) in r.enumerated() { out += "<td\(numeric.contains(i) ? " class=\"n\"" : "")>\(escape(c))</td>" }
            out += "</tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    public static func paragraph(_ text: String) -> String { "<p>\(escape(text))</p>\n" }

    static let css = """
        @page { size: A4; margin: 14mm; }
        body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; color: #111; max-width: 190mm; margin: 0 auto; }
        h1 { font-size: 18pt; margin-bottom: 2pt; }
        h2 { font-size: 13pt; border-bottom: 1px solid #999; margin-top: 18pt; }
        h3 { font-size: 11pt; margin: 12pt 0 4pt; }
        .subtitle { color: #444; margin-top: 0; }
        table { border-collapse: collapse; margin: 6pt 0 10pt; width: 100%; }
        th, td { border-bottom: 1px solid #ccc; padding: 2pt 5pt; text-align: left; }
        th { background: #eee; }
        .n { text-align: right; font-variant-numeric: tabular-nums; }
        .chart { display: block; max-width: 100%; height: auto; break-inside: avoid; }
        .chart text { font-size: 10px; fill: #222; }
        .chart .chart-title { font-size: 12px; font-weight: bold; }
        section { break-inside: auto; }
        .team { break-inside: avoid-page; }
        @media print { h2 { break-after: avoid; } }
        """

    public func html() -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en-GB">
            <head>
            <meta charset="utf-8">
            <title>\(Self.escape(title))</title>
            <style>
            \(Self.css)
            </style>
            </head>
            <body>
            <h1>\(Self.escape(title))</h1>
            <p class="subtitle">\(Self.escape(subtitle))</p>

            """
        for s in sections { out += "<section>\n<h2>\(Self.escape(s.heading))</h2>\n\(s.html)</section>\n" }
        return out + "</body>\n</html>\n"
    }
}

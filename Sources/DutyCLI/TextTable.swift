import DutyCore

/// An aligned text table. When a width is given, the widest columns shrink (cells end with an ellipsis) until
/// the table fits; the last column may wrap nothing and is truncated like the others.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns that are right-aligned (numbers).
    var rightAligned: Set<Int> = []

    init(_ headers: [String]) { self.headers = headers }

    /// Adds a row; control characters in a cell are escaped (`\u{1b}`), so data cannot forge lines or move the
    /// terminal's cursor.
    mutating func add(_ row: [String]) { rows.append(row.map { ReferralDecoder.escapingControlCharacters($0) }) }

    /// Renders with two spaces between columns. `paint` may colour a cell after layout (so escapes do not count
    /// towards widths).
    func render(width: Int?, paint: ((Int, Int, String) -> String)? = nil) -> [String] {
        let columns = headers.count
        var widths = (0..<columns).map { c in
            max(headers[c].count, rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0)
        }
        if let width {
            let gaps = 2 * (columns - 1)
            while widths.reduce(0, +) + gaps > width {
                guard let widest = widths.indices.max(by: { widths[$0] < widths[$1] }), widths[widest] > 4 else {
                    break
                }
                widths[widest] -= 1
            }
        }
        func cell(_ text: String, _ c: Int) -> String {
            var t = text
            if t.count > widths[c] { t = String(t.prefix(max(0, widths[c] - 1))) + "…" }
            let pad = String(repeating: " ", count: widths[c] - t.count)
            return rightAligned.contains(c) ? pad + t : t + pad
        }
        func line(_ cells: [String], row: Int) -> String {
            var parts: [String] = []
            for c in 0..<columns {
                let raw = c < cells.count ? cells[c] : ""
                var text = cell(raw, c)
                if let paint, row >= 0 { text = paint(row, c, text) }
                parts.append(text)
            }
            var s = parts.joined(separator: "  ")
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
        var out = [line(headers, row: -1)]
        for (i, r) in rows.enumerated() { out.append(line(r, row: i)) }
        return out
    }
}

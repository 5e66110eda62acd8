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
    func render(width: Int?, atLeast floor: [Int] = [], paint: ((Int, Int, String) -> String)? = nil) -> [String] {
        let columns = headers.count
        let widths = columnWidths(width: width, atLeast: floor)
        func cell(_ text: String, _ c: Int) -> String {
            var t = text
            var w = Self.width(t)
            if w > widths[c] {
                t = String(t.prefix(max(0, widths[c] - 1))) + "…"
                w = t.count
            }
            if rightAligned.contains(c) { return String(repeating: " ", count: max(0, widths[c] - w)) + t }
            // The last column is not padded: its spaces would only be trimmed again.
            return c == columns - 1 ? t : t + String(repeating: " ", count: max(0, widths[c] - w))
        }
        func line(_ cells: [String], row: Int) -> String {
            var parts: [String] = []
            for c in 0..<columns {
                let raw = c < cells.count ? cells[c] : ""
                var text = cell(raw, c)
                if let paint, row >= 0 { text = paint(row, c, text) }
                parts.append(text)
            }
            let s = parts.joined(separator: "  ")
            var end = s.utf8.endIndex
            while end > s.utf8.startIndex, s.utf8[s.utf8.index(before: end)] == UInt8(ascii: " ") {
                end = s.utf8.index(before: end)
            }
            return String(s[..<end])
        }
        var out = [line(headers, row: -1)]
        for (i, r) in rows.enumerated() { out.append(line(r, row: i)) }
        return out
    }

    /// Each column's width: its widest cell or header, at least `floor` (a table printed in blocks keeps the
    /// widths of the blocks before), shrunk from the widest until the table fits `width`.
    func columnWidths(width: Int?, atLeast floor: [Int] = []) -> [Int] {
        let columns = headers.count
        var widths = headers.indices.map { max(Self.width(headers[$0]), $0 < floor.count ? floor[$0] : 0) }
        for r in rows {
            for c in 0..<min(columns, r.count) { widths[c] = max(widths[c], Self.width(r[c])) }
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
        return widths
    }

    /// Columns a cell takes: its characters (grapheme clusters), counted as bytes when it is ASCII, as almost
    /// every cell is (counting graphemes was most of a 100,000-row table's layout).
    static func width(_ s: String) -> Int {
        let utf8 = s.utf8
        return utf8.allSatisfy { $0 < 0x80 } ? utf8.count : s.count
    }
}

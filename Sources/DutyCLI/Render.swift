import DutyCore
import Foundation

/// A column of a list: its header, the record's field it shows, and whether it is a number (right-aligned).
struct Column {
    var header: String
    var key: String
    var numeric = false
    /// The value is a roster id: the table shows the name beside it, JSON and CSV add `<key>_name`.
    var person = false
}

/// The only place that switches on the output format: JSON (one object per line), CSV (RFC 4180, a header row)
/// or an aligned table fitted to the terminal, with levels coloured by rank.
enum Render {
    static func list(
        _ records: [[(String, JSONValue)]], columns: [Column], format: String, console: Console, timeZone: TimeZone,
        levelRanks: [String: (Int, [Int])] = [:], fields: [String]? = nil
    ) {
        // Records share one shape: each column's position is looked up once, not a dictionary built per row.
        let shape = records.first.map { $0.map(\.0) } ?? []
        func value(_ r: [(String, JSONValue)], _ key: String, at position: Int?) -> JSONValue {
            if let p = position, p < r.count, r[p].0 == key { return r[p].1 }
            return r.first { $0.0 == key }?.1 ?? .null
        }
        switch format {
        case "json", "csv":
            var writer = RecordWriter(format: format, console: console)
            for r in records { writer.write(r) }
            writer.finish(keys: fields ?? columns.map(\.key))
        default:
            var table = TextTable(columns.map(\.header))
            table.rightAligned = Set(columns.indices.filter { columns[$0].numeric })
            let positions = columns.map { c in shape.firstIndex(of: c.key) }
            let levelAt = shape.firstIndex(of: "level")
            var levels: [String] = []
            for r in records {
                table.add(
                    columns.indices.map { c in
                        cell(value(r, columns[c].key, at: positions[c]), key: columns[c].key, timeZone: timeZone)
                    })
                levels.append(value(r, "level", at: levelAt).stringValue ?? "")
            }
            let levelColumn = columns.firstIndex { $0.key == "level" }
            let colour = console.useColour
            for line in table.render(
                width: console.width,
                paint: { row, column, text in
                    guard column == levelColumn, let (rank, ranks) = levelRanks[levels[row]] else { return text }
                    return LevelColour.paint(text, rank: rank, ranks: ranks, enabled: colour)
                })
            {
                console.out(line)
            }
        }
    }

    /// Writes records one by one as JSON lines or CSV, so a list can stream from the database to the output.
    /// CSV has every field the JSON has, in its order; its header comes from the first record.
    struct RecordWriter {
        let format: String
        let console: Console
        private var keys: [String]?

        init(format: String, console: Console) {
            self.format = format
            self.console = console
        }

        mutating func write(_ r: [(String, JSONValue)]) {
            guard format == "csv" else {
                console.out(JSONValue.lineSafe(JSONValue.object(r).serialized()))
                return
            }
            if keys == nil {
                keys = r.map(\.0)
                console.out(keys!.joined(separator: ","))
            }
            console.out(
                keys!.indices.map { i in
                    let v = i < r.count && r[i].0 == keys![i] ? r[i].1 : r.first { $0.0 == keys![i] }?.1 ?? .null
                    switch v {
                    case .int, .number, .bool, .null: return CSV.escape(raw(v), text: false)
                    default: return CSV.escape(raw(v))
                    }
                }.joined(separator: ","))
        }

        /// With nothing written, a CSV still gets its header: `keys`.
        mutating func finish(keys fallback: [String]) {
            if format == "csv" && keys == nil { console.out(fallback.joined(separator: ",")) }
        }
    }

    /// Machine formats print raw values: ISO times, plain numbers, empty for null.
    static func raw(_ v: JSONValue) -> String {
        switch v {
        case .null: ""
        case .string(let s): s
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .number: v.serialized()
        case .array(let items): items.map(raw).joined(separator: ";")
        case .object: v.serialized()
        }
    }

    /// Table cells for people: local times without seconds, days with one decimal, `-` for nothing.
    /// A whole number without decimals, else one decimal place (huge and non-finite values never go through Int64).
    static func number(_ d: Double) -> String {
        if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
        guard abs(d) < 1e14 else { return String(format: "%.1f", d) }
        // One decimal by integer arithmetic (String(format:) was a twentieth of a 100,000-row table's time).
        let tenths = Int64((abs(d) * 10).rounded())
        return (d < 0 && tenths > 0 ? "-" : "") + "\(tenths / 10).\(tenths % 10)"
    }

    static func cell(_ v: JSONValue, key: String, timeZone: TimeZone) -> String {
        switch v {
        case .null: return "-"
        case .bool(let b): return b ? "yes" : "no"
        case .number(let d): return number(d)
        case .string(let s):
            if s.count == 20, s.hasSuffix("Z"), let date = ISOTime.parse(s, timeZone: timeZone) {
                return localTime(date, timeZone)
            }
            return s
        default: return raw(v)
        }
    }

    static func localTime(_ date: Date, _ zone: TimeZone) -> String {
        let shifted = date.addingTimeInterval(Double(zone.secondsFromGMT(for: date)))
        // "2024-10-01T10:00:00Z" -> "2024-10-01 10:00", byte by byte (Foundation's replacingOccurrences took a
        // quarter of a 100,000-row table's time).
        var bytes = Array(ISOTime.format(shifted).utf8.prefix(16))
        if bytes.count > 10 { bytes[10] = UInt8(ascii: " ") }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func days(_ seconds: Double) -> JSONValue { .number((seconds / 86_400 * 10).rounded() / 10) }
}

import DutyCore
import Foundation

/// A column of a list: its header, the record's field it shows, and whether it is a number (right-aligned).
struct Column {
    var header: String
    var key: String
    var numeric = false
}

/// The only place that switches on the output format: JSON (one object per line), CSV (RFC 4180, a header row)
/// or an aligned table fitted to the terminal, with levels coloured by rank.
enum Render {
    static func list(
        _ records: [[(String, JSONValue)]], columns: [Column], format: String, console: Console, timeZone: TimeZone,
        levelRanks: [String: (Int, [Int])] = [:]
    ) {
        switch format {
        case "json":
            for r in records { console.out(JSONValue.object(r).serialized()) }
        case "csv":
            console.out(columns.map(\.key).joined(separator: ","))
            for r in records {
                let values = Dictionary(r, uniquingKeysWith: { a, _ in a })
                console.out(
                    columns.map { column in
                        let v = values[column.key] ?? .null
                        switch v {
                        case .int, .number, .bool, .null: return CSV.escape(raw(v), text: false)
                        default: return CSV.escape(raw(v))
                        }
                    }.joined(separator: ","))
            }
        default:
            var table = TextTable(columns.map(\.header))
            table.rightAligned = Set(columns.indices.filter { columns[$0].numeric })
            var levels: [String] = []
            for r in records {
                let values = Dictionary(r, uniquingKeysWith: { a, _ in a })
                table.add(columns.map { cell(values[$0.key] ?? .null, key: $0.key, timeZone: timeZone) })
                levels.append(values["level"]?.stringValue ?? "")
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
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(format: "%.1f", d)
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
        return String(ISOTime.format(shifted).prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    static func days(_ seconds: Double) -> JSONValue { .number((seconds / 86_400 * 10).rounded() / 10) }
}

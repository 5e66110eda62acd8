import DutyCore
import Foundation

/// Filters for `duty log`.
public struct LogFilter: Sendable {
    public var since: Date?
    public var until: Date?
    public var type: String?
    /// Only events of these exact types (with `type`, both must hold): a reader that folds a few kinds of event
    /// skips the rest in SQLite rather than building each one.
    public var types: [String]?
    public var referral: String?
    public var worker: String?
    /// The last N matching events (still printed oldest first).
    public var limit: Int?

    public init(
        since: Date? = nil, until: Date? = nil, type: String? = nil, types: [String]? = nil, referral: String? = nil,
        worker: String? = nil, limit: Int? = nil
    ) {
        self.since = since
        self.until = until
        self.type = type
        self.types = types
        self.referral = referral
        self.worker = worker
        self.limit = limit
    }
}

/// The allocation log as `duty log`, `export`, `report` and `verify` read it.
extension Store {
    static let eventColumns = "seq, at, type, referral, actor, data, hash"

    static func event(_ r: Row) -> StoredEvent {
        StoredEvent(
            seq: r.integer(0), at: r.text(1), type: r.text(2), referral: r.string(3),
            actor: r.text(4), data: r.text(5), hash: r.text(6))
    }

    /// A referral's events, oldest first.
    public func timeline(_ id: String) throws -> [StoredEvent] {
        var out: [StoredEvent] = []
        try database.query("SELECT \(Self.eventColumns) FROM events WHERE referral = ? ORDER BY seq", [.text(id)]) {
            out.append(Self.event($0))
        }
        return out
    }

    /// Events matching the filter, oldest first (with a limit: the most recent N, still oldest first).
    public func log(_ filter: LogFilter = LogFilter()) throws -> [StoredEvent] {
        var out: [StoredEvent] = []
        try log(filter) { out.append($0) }
        return out
    }

    /// The events `filter` selects, in `seq` order, handed to `body` one at a time as SQLite reads them: what
    /// `duty log` streams, in memory that does not grow with the log.
    public func log(_ filter: LogFilter, _ body: (StoredEvent) throws -> Void) throws {
        var clauses: [String] = []
        var params: [SQLValue] = []
        if let s = filter.since {
            clauses.append("at >= ?")
            params.append(.text(ISOTime.format(s)))
        }
        if let u = filter.until {
            clauses.append("at < ?")
            params.append(.text(ISOTime.format(u)))
        }
        if let t = filter.type {
            if t.hasSuffix(".*") || !t.contains(".") {
                clauses.append("type >= ? AND type < ?")
                let prefix = (t.hasSuffix(".*") ? String(t.dropLast(2)) : t) + "."
                params += [.text(prefix), .text(prefix + "\u{10FFFF}")]
            } else {
                clauses.append("type = ?")
                params.append(.text(t))
            }
        }
        if let types = filter.types {
            // `+type`: checked on each row of the scan in seq order, not through the type index (whose rows
            // would then be sorted back into seq order).
            clauses.append("+type IN (" + types.map { _ in "?" }.joined(separator: ", ") + ")")
            params += types.map { .text($0) }
        }
        if let r = filter.referral {
            clauses.append("referral = ?")
            params.append(.text(r))
        }
        if let w = filter.worker {
            clauses.append("(worker = ? OR actor = ?)")
            params += [.text(w), .text(w)]
        }
        var sql = "SELECT \(Self.eventColumns) FROM events"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        if let n = filter.limit {
            sql = "SELECT * FROM (\(sql) ORDER BY seq DESC LIMIT \(max(0, n))) ORDER BY seq"
        } else {
            sql += " ORDER BY seq"
        }
        try database.query(sql, params) { try body(Self.event($0)) }
    }

    /// When the log begins: the time of its first event, nil when it has none (when duty went live, for a
    /// report whose period starts earlier).
    public func logBegins() throws -> Date? {
        var first: Date?
        try database.query("SELECT at FROM events ORDER BY seq LIMIT 1") { row in
            first = row.string(0).flatMap { ISOTime.parse($0, timeZone: .utc) }
        }
        return first
    }
}

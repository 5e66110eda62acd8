import DutyCore
import Foundation

/// What `duty verify` found.
public struct VerifyReport: Sendable, Equatable {
    public var events: Int64
    /// The last event's seq and hash: keep them off the machine to detect a truncated tail later.
    public var headSeq: Int64
    public var headHash: String
    /// The first seq at which the chain is broken, or nil when it verifies.
    public var firstBadSeq: Int64?
    public var problem: String?

    public var ok: Bool { firstBadSeq == nil }
}

/// A head seen earlier, kept elsewhere: the log must still contain it.
public struct Checkpoint: Sendable, Equatable {
    public var seq: Int64
    public var hash: String

    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }

    /// Parses `SEQ:HASH`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let seq = Int64(parts[0]), seq > 0, parts[1].count == 64 else { return nil }
        self.init(seq: seq, hash: parts[1].lowercased())
    }
}

extension Store {
    /// Recomputes the hash chain from the first event: `seq` must run 1, 2, 3... without gaps, each hash must be
    /// SHA-256 of the previous hash and the row's canonical JSON, and each `log.checkpoint` must name an event
    /// that has the hash it recorded. With `expecting`, the log must still hold that event with that hash (a
    /// truncated or rewritten tail is found against a checkpoint kept elsewhere). Streams the log: memory stays flat.
    public func verify(expecting checkpoint: Checkpoint? = nil) throws -> VerifyReport {
        try verify(anchors: checkpoint.map { [$0] } ?? [])
    }

    /// `verify`, against every head in `anchors` (published heads kept outside the database: the journal's
    /// `log head` lines, a copy an auditor keeps): each must still be in the log with its hash, and the log must
    /// reach the highest of them.
    public func verify(anchors: [Checkpoint]) throws -> VerifyReport {
        var anchored: [Int64: String] = [:]
        for a in anchors { anchored[a.seq] = a.hash }
        let highest = anchors.map(\.seq).max()
        var previous = Store.genesis
        var expected: Int64 = 1
        var count: Int64 = 0
        var bad: (Int64, String)?
        try database.query("SELECT seq, at, type, referral, actor, data, hash, worker FROM events ORDER BY seq") { r in
            guard bad == nil else { return }
            let seq = r.integer(0)
            count += 1
            if seq != expected {
                bad = (
                    seq > expected ? expected : seq,
                    seq > expected ? "events \(expected)...\(seq - 1) are missing" : "seq \(seq) appears out of order"
                )
                return
            }
            let type = r.text(2)
            let data = r.text(5)
            let hash = StoredEvent.hash(
                previous: previous, seq: seq, at: r.text(1), type: type, referral: r.string(3), actor: r.text(4),
                data: data)
            guard hash == r.string(6) else {
                bad = (seq, "the hash of event \(seq) does not match its content and the chain before it")
                return
            }
            // The worker index must match the data.
            if StoredEvent.worker(type: type, dataText: data) != r.string(7) {
                bad = (seq, "the worker index of event \(seq) does not match its data")
                return
            }
            // A checkpoint records the event just before it.
            if type == "log.checkpoint" {
                let parsed = JSONValue.parse(data) ?? .object([])
                if parsed["seq"]?.intValue != seq - 1 || parsed["hash"]?.stringValue != previous {
                    bad = (seq, "checkpoint \(seq) does not record the event before it")
                    return
                }
            }
            if let kept = anchored[seq], kept != hash {
                bad = (seq, "event \(seq) does not have the hash of the head published for it (\(kept.prefix(12))...)")
            }
            previous = hash
            expected = seq + 1
        }
        if bad == nil, let highest, highest >= expected {
            bad = (
                expected,
                "the log ends at seq \(expected - 1), but a head at seq \(highest) was published: events have been removed from the end"
            )
        }
        return VerifyReport(
            events: count, headSeq: expected - 1, headHash: previous, firstBadSeq: bad?.0, problem: bad?.1)
    }
}

/// A projection table that does not match the log: rows the database has that replaying the log does not give
/// (`changed` or `extra`), and rows the log gives that the database lacks (`missing`).
public struct ProjectionDifference: Sendable, Equatable {
    public var table: String
    public var changed: Int
    public var extra: Int
    public var missing: Int
    /// The first differing row's key, and its columns that differ as `column: database -> log`.
    public var example: String
}

extension Store {
    /// Rebuilds every projection from the log into a scratch database in `directory` (deleted after) and compares
    /// it with this database's, row by row: what `duty verify --deep` reports. An edit of a projection
    /// (`UPDATE referrals SET state = 'closed'`) changes what dutyd does without touching the log: the chain
    /// verifies, this does not. Cost: one replay of the log, and one table's keys and rows in memory at a time.
    public func verifyProjections(scratch directory: String) throws -> [ProjectionDifference] {
        let path = directory + "/duty-verify-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).db"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        let scratch = try Store(path: path)
        let utc = TimeZone(identifier: "UTC")!
        try scratch.database.transaction {
            try database.query("SELECT type, referral, actor, at, seq, data FROM events ORDER BY seq") { row in
                try Projector.apply(
                    type: row.text(0), referral: row.string(1), actor: row.text(2),
                    at: ISOTime.parse(row.text(3), timeZone: utc)?.timeIntervalSince1970 ?? 0, seq: row.integer(4),
                    data: JSONValue.parse(row.text(5)) ?? .object([]), to: scratch.database)
            }
        }
        let keys = [
            "referrals": "id", "absences": "id", "escalations": "referral, reason, position", "last_worker": "person",
            "intake_files": "file_id", "capacity_alerts": "team", "source_cursors": "source",
        ]
        var out: [ProjectionDifference] = []
        for table in Schema.projections {
            let key = keys[table] ?? "rowid"
            let keyCount = key.split(separator: ",").count
            var columns: [String] = []
            var fromLog: [String: [SQLValue]] = [:]
            try scratch.database.query("SELECT *, \(key) FROM \(table)") { row in
                let values = row.values
                fromLog[Self.describe(values.suffix(keyCount))] = Array(values.dropLast(keyCount))
            }
            try scratch.database.query("SELECT name FROM pragma_table_info('\(table)') ORDER BY cid") {
                columns.append($0.text(0))
            }
            var difference = ProjectionDifference(table: table, changed: 0, extra: 0, missing: 0, example: "")
            try database.query("SELECT *, \(key) FROM \(table) ORDER BY \(key)") { row in
                let values = row.values
                let k = Self.describe(values.suffix(keyCount))
                let live = Array(values.dropLast(keyCount))
                guard let replayed = fromLog.removeValue(forKey: k) else {
                    difference.extra += 1
                    if difference.example.isEmpty { difference.example = "\(k): in the database, not from the log" }
                    return
                }
                guard replayed != live else { return }
                difference.changed += 1
                if difference.example.isEmpty {
                    let cells = columns.indices.filter {
                        $0 < live.count && $0 < replayed.count && live[$0] != replayed[$0]
                    }
                    .map {
                        "\(columns[$0]): \(Self.describe([live[$0]])) in the database, \(Self.describe([replayed[$0]])) from the log"
                    }
                    difference.example = "\(k): " + cells.joined(separator: "; ")
                }
            }
            difference.missing = fromLog.count
            if difference.example.isEmpty, let k = fromLog.keys.min() {
                difference.example = "\(k): from the log, not in the database"
            }
            if difference.changed + difference.extra + difference.missing > 0 { out.append(difference) }
        }
        return out
    }

    private static func describe(_ values: some Collection<SQLValue>) -> String {
        values.map { v -> String in
            switch v {
            case .null: "null"
            case .int(let i): String(i)
            case .double(let d): String(d)
            case .text(let s): "'\(s)'"
            }
        }.joined(separator: ", ")
    }
}

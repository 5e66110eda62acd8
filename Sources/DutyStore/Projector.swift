import DutyCore
import Foundation

/// One statement that changes the projection tables.
struct ProjectionStatement: Sendable {
    /// The statement; for an insert of one row, only up to `VALUES`.
    var sql: String
    var parameters: [SQLValue]
    /// For an insert of one row, the row (`(?, ?, ...)`): a run of inserts of the same shape is written as one
    /// statement of many rows.
    var values: String?

    init(_ sql: String, _ parameters: [SQLValue]) {
        self.sql = sql
        self.parameters = parameters
    }

    init(insert head: String, values: String, _ parameters: [SQLValue]) {
        sql = head
        self.parameters = parameters
        self.values = values
    }
}

/// Rows one statement inserts at most when a batch is written (events, and runs of projection inserts of one
/// shape): fewer statements for SQLite to start and end.
let rowsPerInsert = 32

/// What one event does to the projection tables. The only code that writes them: live appends and `rebuild` both
/// come here, so the projections are the fold of the log by construction, and a test checks it. The statements
/// are computed from the event alone, without reading the database, so a batch of events can be prepared away
/// from the connection while the part before it is written.
enum Projector {
    private static let utc = TimeZone(identifier: "UTC")!

    private static func time(_ v: JSONValue?) -> SQLValue {
        guard let s = v?.stringValue, let d = ISOTime.parse(s, timeZone: Self.utc) else { return .null }
        return .double(d.timeIntervalSince1970)
    }

    private static func text(_ v: JSONValue?) -> SQLValue {
        guard let v, !v.isNull else { return .null }
        if let s = v.stringValue { return .text(s) }
        return .text(v.serialized(sortedKeys: true))
    }

    private static func int(_ v: JSONValue?) -> SQLValue { v?.intValue.map { .int($0) } ?? .null }

    /// Applies one event: its statements, in order.
    static func apply(
        type: String, referral: String?, actor: String, at: Double, seq: Int64, data: JSONValue, to database: Database
    ) throws {
        try run(statements(type: type, referral: referral, actor: actor, at: at, seq: seq, data: data), on: database)
    }

    /// Runs statements in order; a run of consecutive inserts of one shape goes in statements of up to
    /// `rowsPerInsert` rows, which changes nothing but the number of statements.
    static func run(_ statements: [ProjectionStatement], on database: Database) throws {
        var i = 0
        while i < statements.count {
            let statement = statements[i]
            guard let values = statement.values else {
                try database.query(statement.sql, statement.parameters)
                i += 1
                continue
            }
            var end = i + 1
            while end < statements.count && end - i < rowsPerInsert
                && statements[end].values == values && statements[end].sql == statement.sql
            {
                end += 1
            }
            var parameters: [SQLValue] = []
            parameters.reserveCapacity((end - i) * statement.parameters.count)
            for s in statements[i..<end] { parameters.append(contentsOf: s.parameters) }
            let rows = Array(repeating: values, count: end - i).joined(separator: ", ")
            try database.query(statement.sql + " " + rows, parameters)
            i = end
        }
    }

    static func statements(type: String, referral: String?, actor: String, at: Double, seq: Int64, data: JSONValue)
        -> [ProjectionStatement]
    {
        var out: [ProjectionStatement] = []
        let id = referral.map { SQLValue.text($0) } ?? .null
        switch type {
        case "referral.received":
            let flags = data["flags"] ?? .array([])
            let facts = data["facts"] ?? .object([])
            let skills = data["skills"] ?? .array([])
            let received = time(data["received"])
            let complexity = data["complexity"]?.intValue ?? 3
            out.append(
                ProjectionStatement(
                    insert: """
                        INSERT INTO referrals (id, person, kind, team, received, flags, facts, complexity, skills,
                            source, state, needs_rating) VALUES
                        """,
                    values: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', 1)",
                    [
                        id, text(data["person"]), text(data["kind"]), text(data["team"]), received,
                        .text(flags.serialized(sortedKeys: true)), .text(facts.serialized(sortedKeys: true)),
                        .int(complexity), .text(skills.serialized(sortedKeys: true)), text(data["source"]),
                    ]))
        case "referral.updated":
            let columns: [(String, SQLValue)] = [
                ("person", text(data["person"])), ("kind", text(data["kind"])), ("team", text(data["team"])),
                ("received", time(data["received"])), ("complexity", int(data["complexity"])),
                ("flags", data["flags"].map { .text($0.serialized(sortedKeys: true)) } ?? .null),
                ("facts", data["facts"].map { .text($0.serialized(sortedKeys: true)) } ?? .null),
                ("skills", data["skills"].map { .text($0.serialized(sortedKeys: true)) } ?? .null),
            ]
            for (column, value) in columns where data[column] != nil {
                out.append(ProjectionStatement("UPDATE referrals SET \(column) = ? WHERE id = ?", [value, id]))
            }
            if data["status"]?.stringValue == "open" {
                // Reopened by the case system.
                out.append(
                    ProjectionStatement(
                        "UPDATE referrals SET state = 'waiting', closed = NULL, worker = NULL, manager = NULL, fallback = NULL, allocated = NULL, alloc_due = NULL, acknowledged = NULL, ack_by = NULL WHERE id = ?",
                        [id]))
            }
            out.append(
                ProjectionStatement(
                    "UPDATE referrals SET needs_rating = 1, source = coalesce(?, source) WHERE id = ?",
                    [text(data["source"]), id]))
        case "referral.closed":
            out.append(
                ProjectionStatement(
                    "UPDATE referrals SET state = 'closed', closed = ?, blocked = NULL, held_on = NULL WHERE id = ?",
                    [.double(at), id])
            )
        case "triage.rated", "triage.rerated":
            out.append(
                ProjectionStatement(
                    """
                    UPDATE referrals SET policy = ?, policy_version = ?, level = ?, rank = ?, rules = ?, due = ?,
                        rated = coalesce(rated, ?), needs_rating = 0 WHERE id = ?
                    """,
                    [
                        text(data["policy"]), text(data["policy_version"]), text(data["level"]), int(data["rank"]),
                        .text((data["rules"] ?? .array([])).serialized(sortedKeys: true)), time(data["due"]),
                        .double(at),
                        id,
                    ]))
            if data["pin_raised"]?.boolValue == true {
                out.append(
                    ProjectionStatement(
                        "UPDATE referrals SET pin_level = NULL, pin_rank = NULL, pin_policy_rank = NULL WHERE id = ?",
                        [id]))
            }
        case "allocation.assigned", "override.assigned":
            let override = type == "override.assigned"
            let worker = override ? data["to"] : data["worker"]
            let manager = override ? data["by"] : data["manager"]
            out.append(
                ProjectionStatement(
                    """
                    UPDATE referrals SET state = 'allocated', worker = ?, manager = ?, fallback = ?, allocated = ?,
                        alloc_due = due, acknowledged = ?, ack_by = ?, blocked = NULL, held_on = NULL
                        WHERE id = ?
                    """,
                    [
                        text(worker), text(manager), .int(data["fallback"]?.boolValue == true ? 1 : 0), .double(at),
                        override ? .double(at) : .null, override ? text(data["by"]) : .null, id,
                    ]))
            if let w = worker?.stringValue {
                out.append(
                    ProjectionStatement(
                        "INSERT INTO last_worker (person, worker) SELECT person, ? FROM referrals WHERE id = ? ON CONFLICT(person) DO UPDATE SET worker = excluded.worker",
                        [.text(w), id]))
            }
        case "override.unassigned":
            out.append(
                ProjectionStatement(
                    "UPDATE referrals SET state = 'waiting', worker = NULL, manager = NULL, fallback = NULL, allocated = NULL, alloc_due = NULL, acknowledged = NULL, ack_by = NULL, unassigned_from = ? WHERE id = ?",
                    [text(data["from"]), id]))
            // Continuity does not count an allocation a manager undid.
            out.append(
                ProjectionStatement(
                    "DELETE FROM last_worker WHERE worker = ? AND person = (SELECT person FROM referrals WHERE id = ?)",
                    [text(data["from"]), id]))
        case "allocation.blocked":
            out.append(
                ProjectionStatement(
                    "UPDATE referrals SET blocked = ?, held_on = ? WHERE id = ?",
                    [text(data["reason"]), text(data["held_on"]), id]))
        case "allocation.acknowledged":
            out.append(
                ProjectionStatement(
                    "UPDATE referrals SET acknowledged = ?, ack_by = ? WHERE id = ?",
                    [.double(at), text(data["by"]), id]))
        case "review.recorded":
            out.append(ProjectionStatement("UPDATE referrals SET last_review = ? WHERE id = ?", [.double(at), id]))
        case "override.rerated":
            if data["cleared"]?.boolValue == true {
                out.append(
                    ProjectionStatement(
                        "UPDATE referrals SET pin_level = NULL, pin_rank = NULL, pin_policy_rank = NULL, needs_rating = 1 WHERE id = ?",
                        [id]))
            } else {
                out.append(
                    ProjectionStatement(
                        """
                        UPDATE referrals SET pin_level = ?, pin_rank = ?, pin_policy_rank = ?, level = ?, rank = ?,
                            due = coalesce(?, due), needs_rating = 1 WHERE id = ?
                        """,
                        [
                            text(data["to"]), int(data["rank"]), int(data["policy_rank"]), text(data["to"]),
                            int(data["rank"]),
                            time(data["due"]), id,
                        ]))
            }
        case "escalation.raised":
            out.append(
                ProjectionStatement(
                    "INSERT OR IGNORE INTO escalations (referral, reason, position, to_person, at, seq) VALUES (?, ?, ?, ?, ?, ?)",
                    [id, text(data["reason"]), int(data["chain_position"]), text(data["to"]), .double(at), .int(seq)]))
        case "absence.recorded":
            out.append(
                ProjectionStatement(
                    "INSERT INTO absences (id, worker, start, finish, reason, by) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        text(data["absence"]), text(data["worker"]), time(data["from"]), time(data["to"]),
                        text(data["reason"]), text(data["by"]),
                    ]))
        case "absence.ended":
            out.append(
                ProjectionStatement(
                    "UPDATE absences SET ended = ?, finish = min(finish, ?) WHERE id = ?",
                    [.double(at), .double(at), text(data["absence"])]))
        case "intake.rejected":
            if let file = data["file_id"]?.stringValue {
                out.append(
                    ProjectionStatement(
                        "INSERT OR IGNORE INTO intake_files (file_id, seq) VALUES (?, ?)", [.text(file), .int(seq)]))
            }
        case "capacity.exceeded":
            out.append(
                ProjectionStatement(
                    "INSERT OR REPLACE INTO capacity_alerts (team, since, seq) VALUES (?, ?, ?)",
                    [text(data["team"]), .double(at), .int(seq)]))
        case "source.page":
            out.append(
                ProjectionStatement(
                    "INSERT OR REPLACE INTO source_cursors (source, cursor, seq) VALUES (?, ?, ?)",
                    [text(data["source"]), text(data["cursor"]), .int(seq)]))
        case "capacity.recovered":
            out.append(ProjectionStatement("DELETE FROM capacity_alerts WHERE team = ?", [text(data["team"])]))
        default:
            break  // config.loaded, daemon.*, log.checkpoint: the log only
        }
        return out
    }
}

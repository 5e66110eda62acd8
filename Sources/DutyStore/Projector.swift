import DutyCore
import Foundation

/// Applies one event to the projection tables. The only code that writes them: live appends and `rebuild` both
/// come here, so the projections are the fold of the log by construction, and a test checks it.
struct Projector {
    let database: Database

    private static let utc = TimeZone(identifier: "UTC")!

    private func time(_ v: JSONValue?) -> SQLValue {
        guard let s = v?.stringValue, let d = ISOTime.parse(s, timeZone: Self.utc) else { return .null }
        return .double(d.timeIntervalSince1970)
    }

    private func text(_ v: JSONValue?) -> SQLValue {
        guard let v, !v.isNull else { return .null }
        if let s = v.stringValue { return .text(s) }
        return .text(v.serialized(sortedKeys: true))
    }

    private func int(_ v: JSONValue?) -> SQLValue { v?.intValue.map { .int($0) } ?? .null }

    func apply(type: String, referral: String?, actor: String, at: Double, seq: Int64, data: JSONValue) throws {
        let id = referral.map { SQLValue.text($0) } ?? .null
        switch type {
        case "referral.received":
            let flags = data["flags"] ?? .array([])
            let facts = data["facts"] ?? .object([])
            let skills = data["skills"] ?? .array([])
            let received = time(data["received"])
            let complexity = data["complexity"]?.intValue ?? 3
            try database.query(
                """
                INSERT INTO referrals (id, person, kind, team, received, flags, facts, complexity, skills, source,
                    state, needs_rating)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', 1)
                """,
                [
                    id, text(data["person"]), text(data["kind"]), text(data["team"]), received,
                    .text(flags.serialized(sortedKeys: true)), .text(facts.serialized(sortedKeys: true)),
                    .int(complexity), .text(skills.serialized(sortedKeys: true)), text(data["source"]),
                ])
        case "referral.updated":
            let columns: [(String, SQLValue)] = [
                ("person", text(data["person"])), ("kind", text(data["kind"])), ("team", text(data["team"])),
                ("received", time(data["received"])), ("complexity", int(data["complexity"])),
                ("flags", data["flags"].map { .text($0.serialized(sortedKeys: true)) } ?? .null),
                ("facts", data["facts"].map { .text($0.serialized(sortedKeys: true)) } ?? .null),
                ("skills", data["skills"].map { .text($0.serialized(sortedKeys: true)) } ?? .null),
            ]
            for (column, value) in columns where data[column] != nil {
                try database.query("UPDATE referrals SET \(column) = ? WHERE id = ?", [value, id])
            }
            if data["status"]?.stringValue == "open" {
                // Reopened by the case system.
                try database.query(
                    "UPDATE referrals SET state = 'waiting', closed = NULL, worker = NULL, manager = NULL, fallback = NULL, allocated = NULL, alloc_due = NULL, acknowledged = NULL, ack_by = NULL WHERE id = ?",
                    [id])
            }
            try database.query(
                "UPDATE referrals SET needs_rating = 1, source = coalesce(?, source) WHERE id = ?",
                [text(data["source"]), id])
        case "referral.closed":
            try database.query(
                "UPDATE referrals SET state = 'closed', closed = ?, blocked = NULL WHERE id = ?", [.double(at), id])
        case "triage.rated", "triage.rerated":
            try database.query(
                """
                UPDATE referrals SET policy = ?, policy_version = ?, level = ?, rank = ?, rules = ?, due = ?,
                    rated = coalesce(rated, ?), needs_rating = 0 WHERE id = ?
                """,
                [
                    text(data["policy"]), text(data["policy_version"]), text(data["level"]), int(data["rank"]),
                    .text((data["rules"] ?? .array([])).serialized(sortedKeys: true)), time(data["due"]), .double(at),
                    id,
                ])
            if data["pin_raised"]?.boolValue == true {
                try database.query(
                    "UPDATE referrals SET pin_level = NULL, pin_rank = NULL, pin_policy_rank = NULL WHERE id = ?", [id])
            }
        case "allocation.assigned", "override.assigned":
            let override = type == "override.assigned"
            let worker = override ? data["to"] : data["worker"]
            let manager = override ? data["by"] : data["manager"]
            try database.query(
                """
                UPDATE referrals SET state = 'allocated', worker = ?, manager = ?, fallback = ?, allocated = ?,
                    alloc_due = due, acknowledged = ?, ack_by = ?, blocked = NULL WHERE id = ?
                """,
                [
                    text(worker), text(manager), .int(data["fallback"]?.boolValue == true ? 1 : 0), .double(at),
                    override ? .double(at) : .null, override ? text(data["by"]) : .null, id,
                ])
            if let w = worker?.stringValue {
                try database.query(
                    "INSERT INTO last_worker (person, worker) SELECT person, ? FROM referrals WHERE id = ? ON CONFLICT(person) DO UPDATE SET worker = excluded.worker",
                    [.text(w), id])
            }
        case "override.unassigned":
            try database.query(
                "UPDATE referrals SET state = 'waiting', worker = NULL, manager = NULL, fallback = NULL, allocated = NULL, alloc_due = NULL, acknowledged = NULL, ack_by = NULL WHERE id = ?",
                [id])
        case "allocation.blocked":
            try database.query("UPDATE referrals SET blocked = ? WHERE id = ?", [text(data["reason"]), id])
        case "allocation.acknowledged":
            try database.query(
                "UPDATE referrals SET acknowledged = ?, ack_by = ? WHERE id = ?", [.double(at), text(data["by"]), id])
        case "review.recorded":
            try database.query("UPDATE referrals SET last_review = ? WHERE id = ?", [.double(at), id])
        case "override.rerated":
            if data["cleared"]?.boolValue == true {
                try database.query(
                    "UPDATE referrals SET pin_level = NULL, pin_rank = NULL, pin_policy_rank = NULL, needs_rating = 1 WHERE id = ?",
                    [id])
            } else {
                try database.query(
                    """
                    UPDATE referrals SET pin_level = ?, pin_rank = ?, pin_policy_rank = ?, level = ?, rank = ?,
                        due = coalesce(?, due), needs_rating = 1 WHERE id = ?
                    """,
                    [
                        text(data["to"]), int(data["rank"]), int(data["policy_rank"]), text(data["to"]),
                        int(data["rank"]),
                        time(data["due"]), id,
                    ])
            }
        case "escalation.raised":
            try database.query(
                "INSERT OR IGNORE INTO escalations (referral, reason, position, to_person, at, seq) VALUES (?, ?, ?, ?, ?, ?)",
                [id, text(data["reason"]), int(data["chain_position"]), text(data["to"]), .double(at), .int(seq)])
        case "absence.recorded":
            try database.query(
                "INSERT INTO absences (id, worker, start, finish, reason, by) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    text(data["absence"]), text(data["worker"]), time(data["from"]), time(data["to"]),
                    text(data["reason"]), text(data["by"]),
                ])
        case "absence.ended":
            try database.query(
                "UPDATE absences SET ended = ?, finish = min(finish, ?) WHERE id = ?",
                [.double(at), .double(at), text(data["absence"])])
        case "intake.rejected":
            if let file = data["file_id"]?.stringValue {
                try database.query(
                    "INSERT OR IGNORE INTO intake_files (file_id, seq) VALUES (?, ?)", [.text(file), .int(seq)])
            }
        default:
            break  // config.loaded, daemon.*, log.checkpoint: the log only
        }
    }
}

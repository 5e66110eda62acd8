import DutyCore
import Foundation

/// What an intake batch did to each referral.
public struct IntakeResult: Sendable, Equatable {
    public var new: [String] = []
    public var updated: [String] = []
    public var closed: [String] = []
    public var unchanged: [String] = []

    public init() {}

    public var changed: Int { new.count + updated.count + closed.count }
}

extension Store.Transaction {
    /// Applies a batch of referrals from the intake spool: new ids become `referral.received`, changed ones
    /// `referral.updated` (with the changed fields), `status: closed` a `referral.closed`; an identical record is
    /// a no-op, so reading a file twice (a crash between commit and moving the file) changes nothing.
    @discardableResult
    /// `owner` (the spool file's `{uid, user, worker}`) is recorded on each event as `file_owner`: who put the
    /// referral in the spool.
    public func intake(_ referrals: [Referral], source: String, owner: JSONValue? = nil) throws -> IntakeResult {
        let ownerField: [(String, JSONValue)] = owner.map { [("file_owner", $0)] } ?? []
        var result = IntakeResult()
        // The stored rows of the whole batch, read at once. A batch that names an id twice reads each row just
        // before it is compared instead, so the second record sees what the first one changed.
        let ids = referrals.map(\.id)
        let distinct = Set(ids).count == ids.count
        let known = distinct ? try storedRows(ids) : [:]
        // With the rows read up front, the events are appended together at the end (prepared on another thread
        // while SQLite writes); otherwise each at once, before the next record is compared.
        var events: [NewEvent] = []
        func emit(_ event: NewEvent) throws {
            if distinct { events.append(event) } else { try append(event) }
        }
        for r in referrals {
            let existing = distinct ? known[r.id] : try storedRows([r.id])[r.id]
            let flags = JSONValue.strings(r.flags)
            let facts = JSONValue.facts(r.facts)
            let skills = JSONValue.strings(r.skills)
            let received = Date(timeIntervalSince1970: r.received.timeIntervalSince1970.rounded(.down))
            guard let old = existing else {
                try emit(
                    NewEvent(
                        type: "referral.received", referral: r.id,
                        data: .object(
                            [
                                ("complexity", .int(Int64(r.complexity))), ("facts", facts),
                            ] + ownerField + [
                                ("flags", flags),
                                ("kind", .string(r.kind)), ("person", .string(r.person)), ("received", .time(received)),
                                ("skills", skills), ("source", .string(source)), ("team", .string(r.team)),
                            ])))
                result.new.append(r.id)
                if r.status == .closed {
                    try emit(closing(r.id, source: source, owner: ownerField))
                    result.closed.append(r.id)
                }
                continue
            }
            // What the case system sent, field by field: nothing different is a no-op.
            var changes: [(String, JSONValue)] = []
            if old.person != r.person { changes.append(("person", .string(r.person))) }
            if old.kind != r.kind { changes.append(("kind", .string(r.kind))) }
            if old.team != r.team { changes.append(("team", .string(r.team))) }
            if old.received != received.timeIntervalSince1970 { changes.append(("received", .time(received))) }
            if old.flags != flags.serialized(sortedKeys: true) { changes.append(("flags", flags)) }
            if old.facts != facts.serialized(sortedKeys: true) { changes.append(("facts", facts)) }
            if old.complexity != Int64(r.complexity) { changes.append(("complexity", .int(Int64(r.complexity)))) }
            if old.skills != skills.serialized(sortedKeys: true) { changes.append(("skills", skills)) }
            if old.closed && r.status == .open { changes.append(("status", .string("open"))) }
            let closes = !old.closed && r.status == .closed
            if changes.isEmpty && !closes {
                result.unchanged.append(r.id)
                continue
            }
            if !changes.isEmpty {
                try emit(
                    NewEvent(
                        type: "referral.updated", referral: r.id,
                        data: .object(changes + ownerField + [("source", .string(source))])
                    ))
                result.updated.append(r.id)
            }
            if closes {
                try emit(closing(r.id, source: source, owner: ownerField))
                result.closed.append(r.id)
            }
        }
        try write(events)
        return result
    }

    /// What a referral's row holds of the record the case system sent.
    private struct StoredRecord {
        var person: String
        var kind: String
        var team: String?
        var received: Double
        var flags: String
        var facts: String
        var complexity: Int64
        var skills: String
        var closed: Bool
    }

    /// The stored rows of these ids, by id (one statement for up to 500 ids).
    private func storedRows(_ ids: [String]) throws -> [String: StoredRecord] {
        var rows: [String: StoredRecord] = [:]
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = ids[start..<min(start + 500, ids.count)]
            try database.query(
                """
                SELECT id, person, kind, team, received, flags, facts, complexity, skills, state FROM referrals
                WHERE id IN (\(Array(repeating: "?", count: chunk.count).joined(separator: ", ")))
                """, chunk.map { .text($0) }
            ) { row in
                rows[row.text(0)] = StoredRecord(
                    person: row.text(1), kind: row.text(2), team: row.string(3), received: row.real(4),
                    flags: row.text(5), facts: row.text(6), complexity: row.integer(7), skills: row.text(8),
                    closed: row.string(9) == "closed")
            }
        }
        return rows
    }

    private func closing(_ id: String, source: String, owner: [(String, JSONValue)]) -> NewEvent {
        NewEvent(
            type: "referral.closed", referral: id,
            data: .object(owner + [("reason", .string("closed by the case system")), ("source", .string(source))]))
    }
}

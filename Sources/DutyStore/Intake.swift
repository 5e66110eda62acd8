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

/// The canonical form of a referral as the case system sent it.
enum IntakeRecord {
    static func content(
        id: String, person: String, kind: String, team: String?, received: Double, flags: JSONValue, facts: JSONValue,
        complexity: Int64, skills: JSONValue, closed: Bool
    ) -> String {
        JSONValue.object([
            ("complexity", .int(complexity)), ("facts", facts), ("flags", flags), ("id", .string(id)),
            ("kind", .string(kind)), ("person", .string(person)),
            ("received", .string(ISOTime.format(Date(timeIntervalSince1970: received)))), ("skills", skills),
            ("status", .string(closed ? "closed" : "open")), ("team", .string(team)),
        ]).serialized(sortedKeys: true)
    }

    static func content(_ r: Referral) -> String {
        content(
            id: r.id, person: r.person, kind: r.kind, team: r.team,
            received: r.received.timeIntervalSince1970.rounded(.down),
            flags: .strings(r.flags), facts: .facts(r.facts), complexity: Int64(r.complexity),
            skills: .strings(r.skills),
            closed: r.status == .closed)
    }
}

extension Store.Transaction {
    /// Applies a batch of referrals from the intake spool: new ids become `referral.received`, changed ones
    /// `referral.updated` (with the changed fields), `status: closed` a `referral.closed`; an identical record is
    /// a no-op, so reading a file twice (a crash between commit and moving the file) changes nothing.
    @discardableResult
    public func intake(_ referrals: [Referral], source: String) throws -> IntakeResult {
        var result = IntakeResult()
        for r in referrals {
            var existing:
                (
                    content: String, person: String, kind: String, team: String?, received: Double, flags: String,
                    facts: String, complexity: Int64, skills: String, closed: Bool
                )?
            try database.query(
                "SELECT content, person, kind, team, received, flags, facts, complexity, skills, state FROM referrals WHERE id = ?",
                [.text(r.id)]
            ) { row in
                existing = (
                    row.text(0), row.text(1), row.text(2), row.string(3), row.real(4),
                    row.text(5), row.text(6), row.integer(7), row.text(8),
                    row.string(9) == "closed"
                )
            }
            let flags = JSONValue.strings(r.flags)
            let facts = JSONValue.facts(r.facts)
            let skills = JSONValue.strings(r.skills)
            let received = Date(timeIntervalSince1970: r.received.timeIntervalSince1970.rounded(.down))
            guard let old = existing else {
                try append(
                    NewEvent(
                        type: "referral.received", referral: r.id,
                        data: .object([
                            ("kind", .string(r.kind)), ("team", .string(r.team)), ("person", .string(r.person)),
                            ("received", .time(received)), ("flags", flags), ("facts", facts),
                            ("complexity", .int(Int64(r.complexity))), ("skills", skills), ("source", .string(source)),
                        ])))
                result.new.append(r.id)
                if r.status == .closed {
                    try append(closing(r.id, source: source))
                    result.closed.append(r.id)
                }
                continue
            }
            if old.content == IntakeRecord.content(r) {
                result.unchanged.append(r.id)
                continue
            }
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
            if !changes.isEmpty {
                try append(
                    NewEvent(
                        type: "referral.updated", referral: r.id, data: .object(changes + [("source", .string(source))])
                    ))
                result.updated.append(r.id)
            }
            if !old.closed && r.status == .closed {
                try append(closing(r.id, source: source))
                result.closed.append(r.id)
            }
        }
        return result
    }

    private func closing(_ id: String, source: String) -> NewEvent {
        NewEvent(
            type: "referral.closed", referral: id,
            data: .object([("reason", .string("closed by the case system")), ("source", .string(source))]))
    }
}

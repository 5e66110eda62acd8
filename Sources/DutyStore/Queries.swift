import DutyCore
import Foundation

/// A referral's current state, as the projections hold it.
public struct ReferralRow: Sendable {
    public var id: String
    public var person: String
    public var kind: String
    public var team: String?
    public var received: Date
    public var flags: [String]
    public var facts: [String: FactValue]
    public var complexity: Int
    public var skills: [String]
    /// `waiting`, `allocated` or `closed`.
    public var state: String
    public var needsRating: Bool
    public var policy: String?
    public var policyVersion: String?
    public var level: String?
    public var rank: Int?
    public var rules: [String]
    public var due: Date?
    /// When first rated.
    public var rated: Date?
    public var pinLevel: String?
    public var pinRank: Int?
    public var pinPolicyRank: Int?
    public var worker: String?
    public var manager: String?
    public var fallback: Bool
    public var allocated: Date?
    /// The due time when it was allocated (for "% allocated within timescale").
    public var allocatedDue: Date?
    public var acknowledged: Date?
    public var acknowledgedBy: String?
    public var blocked: String?
    /// The worker whose room is held for this blocked referral (`allocation.blocked`'s `held_on`).
    public var heldOn: String?
    /// The worker a manager last took it back from (`override.unassigned`'s `from`).
    public var unassignedFrom: String? = nil
    public var lastReview: Date?
    public var closed: Date?

    public var referral: Referral {
        Referral(
            id: id, person: person, kind: kind, team: team, received: received, flags: flags, facts: facts,
            complexity: complexity, skills: skills, status: state == "closed" ? .closed : .open)
    }
}

/// An absence as recorded, with who recorded it and whether it was ended early.
public struct AbsenceRow: Sendable, Hashable {
    public var absence: Absence
    public var by: String?
    public var ended: Date?
}

public struct EscalationRow: Sendable, Hashable {
    public var referral: String
    public var reason: String
    public var position: Int
    public var to: String?
    public var at: Date
    public var seq: Int64
}

/// Filters for `duty waiting`.
public struct WaitingFilter: Sendable {
    public var team: String?
    public var kind: String?
    public var level: String?
    public var blockedOnly = false
    /// Only those whose due time is before this.
    public var overdueAt: Date?

    public init(
        team: String? = nil, kind: String? = nil, level: String? = nil, blockedOnly: Bool = false,
        overdueAt: Date? = nil
    ) {
        self.team = team
        self.kind = kind
        self.level = level
        self.blockedOnly = blockedOnly
        self.overdueAt = overdueAt
    }
}

/// One group of `duty stats`.
public struct StatsRow: Sendable, Equatable {
    public var key: String
    public var waiting: Int
    public var medianDays: Double?
    public var maxDays: Double?
    public var allocated: Int
    /// Of the referrals allocated by the time, the share allocated by their due time; nil when none were.
    public var withinTimescalePct: Double?
    public var overdue: Int
    public var reviewsOverdue: Int
}

public enum StatsGrouping: String, Sendable, CaseIterable {
    case kind, team, level
}

extension Store {
    static let referralColumns = """
        id, person, kind, team, received, flags, facts, complexity, skills, state, needs_rating, policy, policy_version,
        level, rank, rules, due, rated, pin_level, pin_rank, pin_policy_rank, worker, manager, fallback, allocated,
        alloc_due, acknowledged, ack_by, blocked, last_review, closed, held_on, unassigned_from
        """

    /// `referralColumns` with the JSON columns but `rules` (which the allocation order reads) as NULL, same
    /// positions.
    private static let lightColumns = referralColumns.replacingOccurrences(of: "flags, facts,", with: "NULL, NULL,")
        .replacingOccurrences(of: "skills, state", with: "NULL, state")

    private static func date(_ v: Double?) -> Date? { v.map { Date(timeIntervalSince1970: $0) } }

    /// A stored list of strings (flags, skills, rules: canonical JSON). The usual short list of plain words is
    /// split by hand; anything with an escape is parsed. Parsing every row's lists was a tenth of loading 100,000.
    static func strings(_ text: String?) -> [String] {
        guard let text, text != "[]" else { return [] }
        let bytes = Array(text.utf8)
        guard bytes.count >= 4, bytes.first == UInt8(ascii: "["), bytes.last == UInt8(ascii: "]"),
            !bytes.contains(UInt8(ascii: "\\"))
        else { return JSONValue.parse(text)?.stringArray ?? [] }
        // ["a","b"]: every item a quoted string, separated by commas (canonical JSON has no spaces).
        var out: [String] = []
        var i = 1
        while i < bytes.count - 1 {
            guard bytes[i] == UInt8(ascii: "\""), let end = bytes[(i + 1)...].firstIndex(of: UInt8(ascii: "\"")) else {
                return JSONValue.parse(text)?.stringArray ?? []
            }
            out.append(String(decoding: bytes[(i + 1)..<end], as: UTF8.self))
            i = end + 1
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
            } else if i != bytes.count - 1 {
                return JSONValue.parse(text)?.stringArray ?? []
            }
        }
        return out
    }

    private static func facts(_ text: String?) -> [String: FactValue] {
        if text == nil || text == "{}" { return [:] }
        guard case .object(let members)? = text.flatMap(JSONValue.parse) else { return [:] }
        var out: [String: FactValue] = [:]
        for (k, v) in members {
            switch v {
            case .string(let s): out[k] = .string(s)
            case .bool(let b): out[k] = .bool(b)
            case .int(let i): out[k] = .number(Double(i))
            case .number(let d): out[k] = .number(d)
            default: break
            }
        }
        return out
    }

    static func referralRow(_ r: Row) -> ReferralRow {
        ReferralRow(
            id: r.text(0), person: r.text(1), kind: r.text(2), team: r.string(3),
            received: Date(timeIntervalSince1970: r.real(4)),
            flags: strings(r.string(5)), facts: facts(r.string(6)),
            complexity: Int(r.integer(7)), skills: strings(r.string(8)),
            state: r.text(9), needsRating: r.int(10) == 1, policy: r.string(11),
            policyVersion: r.string(12),
            level: r.string(13), rank: r.int(14).map(Int.init),
            rules: strings(r.string(15)),
            due: date(r.double(16)), rated: date(r.double(17)), pinLevel: r.string(18),
            pinRank: r.int(19).map(Int.init),
            pinPolicyRank: r.int(20).map(Int.init), worker: r.string(21), manager: r.string(22),
            fallback: r.int(23) == 1,
            allocated: date(r.double(24)), allocatedDue: date(r.double(25)), acknowledged: date(r.double(26)),
            acknowledgedBy: r.string(27), blocked: r.string(28), heldOn: r.string(31), unassignedFrom: r.string(32),
            lastReview: date(r.double(29)), closed: date(r.double(30)))
    }

    public func referral(_ id: String) throws -> ReferralRow? {
        var out: ReferralRow?
        try database.query("SELECT \(Self.referralColumns) FROM referrals WHERE id = ?", [.text(id)]) {
            out = Self.referralRow($0)
        }
        return out
    }

    /// Every referral not closed: what the engine's snapshot is made of. `state IN (...)` rather than `!= 'closed'`
    /// so the index on state is used: a cycle's cost follows the open referrals, not every referral ever received.
    public func openReferrals() throws -> [ReferralRow] {
        var out: [ReferralRow] = []
        try database.query(
            "SELECT \(Self.referralColumns) FROM referrals WHERE state IN ('waiting', 'allocated') ORDER BY id"
        ) {
            out.append(Self.referralRow($0))
        }
        return out
    }

    /// The waiting list in allocation order: highest rank, earliest due, earliest received, id.
    /// The waiting list counted in the database, not loaded: by level (unrated as nil), blocked, and past due at
    /// `now`. What `duty status` and the daemon's status line need, in one pass of SQLite's.
    public func waitingCounts(now: Date) throws -> (byLevel: [(level: String?, count: Int)], blocked: Int, overdue: Int)
    {
        var byLevel: [(String?, Int)] = []
        var blocked = 0
        var overdue = 0
        try database.query(
            """
            SELECT level, count(*), sum(blocked IS NOT NULL), sum(due IS NOT NULL AND due < ?)
            FROM referrals WHERE state = 'waiting' GROUP BY level
            """, [.double(now.timeIntervalSince1970)]
        ) { r in
            byLevel.append((r.string(0), Int(r.integer(1))))
            blocked += Int(r.integer(2))
            overdue += Int(r.integer(3))
        }
        return (byLevel, blocked, overdue)
    }

    /// `light`: without `flags`, `facts` and `skills` (left empty), which lists do not show and which cost a JSON
    /// parse each per row (most of the time of a list of 100,000). `ordered`: by rank, due, received and id (the
    /// allocation order proper is `EngineState.allocationOrder`, which sorts for itself: SQLite's sort of 100,000
    /// rows is 60 ms); else in no particular order.
    public func waiting(_ filter: WaitingFilter = WaitingFilter(), light: Bool = false, ordered: Bool = true) throws
        -> [ReferralRow]
    {
        var sql = "SELECT \(light ? Self.lightColumns : Self.referralColumns) FROM referrals WHERE state = 'waiting'"
        var params: [SQLValue] = []
        if let t = filter.team {
            sql += " AND team = ?"
            params.append(.text(t))
        }
        if let k = filter.kind {
            sql += " AND kind = ?"
            params.append(.text(k))
        }
        if let l = filter.level {
            sql += " AND level = ?"
            params.append(.text(l))
        }
        if filter.blockedOnly { sql += " AND blocked IS NOT NULL" }
        if let at = filter.overdueAt {
            sql += " AND due < ?"
            params.append(.double(at.timeIntervalSince1970))
        }
        if ordered { sql += " ORDER BY rank DESC, due, received, id" }
        var out: [ReferralRow] = []
        try database.query(sql, params) { out.append(Self.referralRow($0)) }
        return out
    }

    /// Open allocations, for caseloads.
    public func allocations(worker: String? = nil) throws -> [ReferralRow] {
        var out: [ReferralRow] = []
        if let worker {
            try database.query(
                "SELECT \(Self.referralColumns) FROM referrals WHERE state = 'allocated' AND worker = ? ORDER BY id",
                [.text(worker)]
            ) { out.append(Self.referralRow($0)) }
        } else {
            try database.query(
                "SELECT \(Self.referralColumns) FROM referrals WHERE state = 'allocated' ORDER BY worker, id"
            ) {
                out.append(Self.referralRow($0))
            }
        }
        return out
    }

    /// Absences not ended before `after` (all when nil).
    public func absences(endingAfter after: Date? = nil) throws -> [AbsenceRow] {
        var out: [AbsenceRow] = []
        try database.query(
            "SELECT id, worker, start, finish, reason, by, ended FROM absences WHERE finish > ? ORDER BY start, id",
            [.double(after?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude)]
        ) { r in
            out.append(
                AbsenceRow(
                    absence: Absence(
                        id: r.text(0), worker: r.text(1),
                        from: Date(timeIntervalSince1970: r.real(2)),
                        to: Date(timeIntervalSince1970: r.real(3)), reason: r.string(4)),
                    by: r.string(5), ended: Self.date(r.double(6))))
        }
        return out
    }

    /// The worker who last worked with each person, for people with an open referral (all that continuity needs
    /// in a cycle; the table itself holds everyone ever allocated), or for `person` alone.
    public func lastWorkers(person: String? = nil) throws -> [String: String] {
        var out: [String: String] = [:]
        if let person {
            try database.query("SELECT person, worker FROM last_worker WHERE person = ?", [.text(person)]) {
                out[$0.string(0)!] = $0.string(1)!
            }
            return out
        }
        try database.query(
            """
            SELECT DISTINCT w.person, w.worker FROM referrals r JOIN last_worker w ON w.person = r.person
            WHERE r.state IN ('waiting', 'allocated')
            """
        ) { out[$0.string(0)!] = $0.string(1)! }
        return out
    }

    /// Escalations raised for referrals still open: what a cycle needs to raise each one only once.
    public func openEscalations() throws -> [EscalationRow] {
        var out: [EscalationRow] = []
        try database.query(
            """
            SELECT e.referral, e.reason, e.position, e.to_person, e.at, e.seq
            FROM referrals r JOIN escalations e ON e.referral = r.id
            WHERE r.state IN ('waiting', 'allocated') ORDER BY e.seq
            """
        ) { out.append(Self.escalationRow($0)) }
        return out
    }

    public func escalations(to person: String? = nil) throws -> [EscalationRow] {
        var out: [EscalationRow] = []
        let sql =
            "SELECT referral, reason, position, to_person, at, seq FROM escalations"
            + (person == nil ? "" : " WHERE to_person = ?") + " ORDER BY seq"
        try database.query(sql, person.map { [.text($0)] } ?? []) { out.append(Self.escalationRow($0)) }
        return out
    }

    private static func escalationRow(_ r: Row) -> EscalationRow {
        EscalationRow(
            referral: r.text(0), reason: r.text(1), position: Int(r.integer(2)), to: r.string(3),
            at: Date(timeIntervalSince1970: r.real(4)), seq: r.integer(5))
    }

    /// Every team the referrals table names, with the kinds of its referrals (each sorted): what a report covers
    /// when the roster has since dropped a team.
    public func teamsWithReferrals() throws -> [(team: String, kinds: [String])] {
        var kinds: [String: [String]] = [:]
        try database.query("SELECT DISTINCT team, kind FROM referrals WHERE team IS NOT NULL ORDER BY team, kind") {
            kinds[$0.text(0), default: []].append($0.text(1))
        }
        return kinds.keys.sorted().map { ($0, kinds[$0]!) }
    }

    /// Per group, as of `asOf`: waiting count, median and max days waiting, allocated (and still open), % of
    /// those allocated by then that were allocated by their due time, overdue waiting, reviews overdue.
    /// `reviewEvery` gives a level's review interval (from the policies), by policy id and level; days are
    /// calendar days in `timeZone`.
    public func stats(
        by grouping: StatsGrouping, asOf: Date, reviewEvery: (String, String) -> Duration? = { _, _ in nil },
        timeZone: TimeZone = .utc
    ) throws -> [StatsRow] {
        let t = asOf.timeIntervalSince1970
        struct Acc {
            var waits: [Double] = []
            var allocatedOpen = 0
            var allocatedTotal = 0
            var within = 0
            var overdue = 0
            var reviews = 0
        }
        // Accumulators in an array, found by index: copying one out of a dictionary and back for every row copied
        // its whole list of waits each time (quadratic when many wait in one group).
        var position: [String: Int] = [:]
        var accs: [Acc] = []
        let column =
            grouping == .level
            ? "coalesce(level, '(unrated)')" : grouping == .team ? "coalesce(team, '(none)')" : "kind"
        try database.query(
            """
            SELECT \(column), received, allocated, alloc_due, closed, due, last_review, policy, level
            FROM referrals WHERE received <= ?
            """, [.double(t)]
        ) { r in
            let key = r.text(0)
            let received = r.real(1)
            let allocated = r.double(2)
            let closed = r.double(4)
            let k =
                position[key]
                ?? {
                    accs.append(Acc())
                    position[key] = accs.count - 1
                    return accs.count - 1
                }()
            let closedBy = closed.map { $0 <= t } ?? false
            if let a = allocated, a <= t {
                accs[k].allocatedTotal += 1
                if !closedBy { accs[k].allocatedOpen += 1 }
                if let d = r.double(3), a <= d { accs[k].within += 1 }
                return
            }
            guard !closedBy else { return }
            accs[k].waits.append((t - received) / 86_400)
            if let due = r.double(5), due < t { accs[k].overdue += 1 }
            if let policy = r.string(7), let level = r.string(8), let every = reviewEvery(policy, level),
                every.hasPassed(
                    since: Date(timeIntervalSince1970: r.double(6) ?? received), at: asOf, in: timeZone)
            {
                accs[k].reviews += 1
            }
        }
        return position.sorted { $0.key < $1.key }.map { key, k in
            let acc = accs[k]
            let sorted = acc.waits.sorted()
            return StatsRow(
                key: key, waiting: sorted.count, medianDays: DutyCore.median(sorted: sorted), maxDays: sorted.last,
                allocated: acc.allocatedOpen,
                withinTimescalePct: acc.allocatedTotal == 0
                    ? nil : 100 * Double(acc.within) / Double(acc.allocatedTotal),
                overdue: acc.overdue, reviewsOverdue: acc.reviews)
        }
    }

    /// Referrals received since `since` (all when nil), with their timestamps, for BI tools.
    /// Every referral received from `since`, earliest first, handed to `body` one at a time as SQLite reads it
    /// (flags, facts and skills left empty): `duty export` streams it, in memory that does not grow with the table.
    public func export(since: Date? = nil, _ body: (ReferralRow) throws -> Void) throws {
        try database.query(
            "SELECT \(Self.lightColumns) FROM referrals WHERE received >= ? ORDER BY received, id",
            [.double(since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude)]
        ) { try body(Self.referralRow($0)) }
    }
}

/// Something waiting for a person: an allocation to acknowledge, an escalation, a review due.
public struct InboxRow: Sendable, Equatable {
    /// `ack`, `escalation` or `review`.
    public var reason: String
    public var referral: String
    public var since: Date
    public var detail: String
    /// The referral's level and rank now (nil when unrated).
    public var level: String? = nil
    public var rank: Int? = nil

    public init(
        reason: String, referral: String, since: Date, detail: String, level: String? = nil, rank: Int? = nil
    ) {
        self.reason = reason
        self.referral = referral
        self.since = since
        self.detail = detail
        self.level = level
        self.rank = rank
    }
}

extension Store {
    /// What waits for `person`: allocations they are accountable for at or above `minRank` and not yet
    /// acknowledged; escalations raised to them on referrals still open; reviews due on waiting referrals of
    /// `teams` (the teams whose chain they are in), with `reviewEvery` giving each level's interval (calendar days
    /// in `timeZone`).
    public func inbox(
        person: String, minRank: Int?, teams: Set<String>, now: Date, reviewEvery: (String, String) -> Duration?,
        timeZone: TimeZone = .utc
    ) throws -> [InboxRow] {
        var out: [InboxRow] = []
        if let minRank {
            try database.query(
                "SELECT id, allocated, level, worker, rank FROM referrals WHERE state = 'allocated' AND manager = ? AND acknowledged IS NULL AND rank >= ? ORDER BY allocated, id",
                [.text(person), .int(Int64(minRank))]
            ) { r in
                out.append(
                    InboxRow(
                        reason: "ack", referral: r.text(0),
                        since: Date(timeIntervalSince1970: r.real(1)),
                        detail: "\(r.string(2) ?? "?") allocated to \(r.string(3) ?? "?") needs your acknowledgement",
                        level: r.string(2), rank: r.int(4).map { Int($0) }))
            }
        }
        try database.query(
            """
            SELECT e.referral, e.reason, e.at, r.level, r.rank FROM escalations e JOIN referrals r ON r.id = e.referral
            WHERE e.to_person = ? AND r.state != 'closed' AND NOT (e.reason = 'ack_overdue' AND r.acknowledged IS NOT NULL)
                AND NOT (e.reason = 'unallocated_overdue' AND r.state = 'allocated')
            ORDER BY e.at, e.referral
            """, [.text(person)]
        ) { r in
            out.append(
                InboxRow(
                    reason: "escalation", referral: r.text(0),
                    since: Date(timeIntervalSince1970: r.real(2)),
                    detail: "\(r.text(1)) (\(r.string(3) ?? "unrated"))", level: r.string(3),
                    rank: r.int(4).map { Int($0) }))
        }
        for row in try waiting(light: true) where row.team.map(teams.contains) ?? false {
            guard let policy = row.policy, let level = row.level, let every = reviewEvery(policy, level) else {
                continue
            }
            let since = row.lastReview ?? row.received
            guard every.hasPassed(since: since, at: now, in: timeZone) else { continue }
            let due = every.after(since, in: timeZone)
            out.append(
                InboxRow(
                    reason: "review", referral: row.id, since: due, detail: "\(level): review due", level: level,
                    rank: row.rank))
        }
        return out
    }
}

import DutyCore
import DutyPolicy
import DutyStore
import Foundation

/// `duty capacity`: what a head of service takes to a budget meeting, per team, from the log and the roster.
extension ReadCommands {
    /// One team's figures over the window.
    struct CapacityFigures {
        var team: String
        var days: Double
        var arrivals = 0
        /// Arrivals by the level they were first rated at.
        var arrivalsByLevel: [String: Int] = [:]
        /// Points of everything that arrived.
        var arrivedPoints = 0.0
        /// Days from allocation to close, for allocations closed in the window.
        var held: [Double] = []
        var allocations = 0
        var capacity = 0.0
        /// Capacity less the share of the window its workers were away.
        var presentCapacity = 0.0
        var meanWorkerCapacity = 0.0
        var caseworkers = 0
        var allocatedPointsNow = 0.0
        var waitingNow = 0
        var waitingAtStart = 0

        var meanHeldDays: Double? { held.isEmpty ? nil : held.reduce(0, +) / Double(held.count) }
        /// Points a day arriving times mean days held, over the points present (Little's law: the caseload the
        /// arrivals need on average).
        var loadRatio: Double? {
            guard let w = meanHeldDays, presentCapacity > 0, days > 0 else { return nil }
            return arrivedPoints / days * w / presentCapacity
        }
        var utilisation: Double? { capacity > 0 ? allocatedPointsNow / capacity : nil }
        /// More workers of the team's mean capacity to bring the load ratio under 0.85.
        var workersNeeded: Int? {
            guard let w = meanHeldDays, days > 0, meanWorkerCapacity > 0, capacity > 0 else { return nil }
            let presence = presentCapacity / capacity
            let needed = arrivedPoints / days * w / 0.85 / (meanWorkerCapacity * presence)
            return max(0, Int(needed.rounded(.up)) - caseworkers)
        }
    }

    static let capacity = CommandSpec(
        name: "capacity", summary: "per team: demand against capacity (load ratio), and the workers it would take",
        options: [
            OptionSpec(long: "team", value: "T", help: "only this team"),
            OptionSpec(long: "since", value: "T", help: "the window's start (default 12 weeks before its end)"),
            OptionSpec(long: "until", value: "T", help: "the window's end (default now)"), formatOption(),
        ],
        discussion: """
            Over the window to now, from the log: arrivals a week by the level first rated; points arriving a day
            (the allocation policy's points); mean days an allocation is held (allocation to close, for those
            closed in the window); capacity present (the roster's caseload points less the share of the window
            its workers were away). load ratio = points a day x days held / capacity present (Little's law: the
            caseload the arrivals need on average); above 1 the waiting list grows whatever the order. workers
            needed: more workers of the team's mean capacity to bring the load ratio under 0.85. utilisation: points
            allocated now / capacity. See the README for the limits of these figures.
            """,
        examples: ["duty capacity", "duty capacity --team dols --since 2024-04-01 --until 2024-07-01 --format json"],
        run: { inv throws(DutyError) in
            let format = try inv.format(["table", "json", "csv"])
            let ctx = try ReadContext(inv)
            guard let roster = ctx.roster, let policies = ctx.policies else {
                throw DutyError(.invalidData, "the roster or policies do not load: run 'duty policy check'")
            }
            let now =
                try inv.value("until").map { v throws(DutyError) in
                    try TimeArgument.parse(v, now: inv.console.now(), timeZone: ctx.zone)
                } ?? inv.console.now()
            let since =
                try inv.value("since").map { v throws(DutyError) in
                    try TimeArgument.parse(v, now: now, timeZone: ctx.zone)
                } ?? now.addingTimeInterval(-84 * 86_400)
            guard since < now else { throw DutyError(.usage, "--since must be before now", cause: "capacity") }
            let only = inv.value("team")
            if let only, !roster.teams.contains(where: { $0.id == only }) {
                throw DutyError(.notFound, "no team '\(only)' in the roster")
            }
            let figures = try ctx.reading {
                try capacityFigures(ctx.store, roster: roster, policies: policies, since: since, now: now)
            }.filter { only == nil || $0.team == only }
            func d(_ v: Double?, _ places: Double = 10) -> JSONValue {
                v.map { .number(($0 * places).rounded() / places) } ?? .null
            }
            let records: [[(String, JSONValue)]] = figures.map { f in
                [
                    ("team", .string(f.team)),
                    ("arrivals_per_week", d(f.days > 0 ? Double(f.arrivals) / f.days * 7 : nil)),
                    (
                        "arrivals_per_week_by_level",
                        .object(
                            f.arrivalsByLevel.sorted { $0.key < $1.key }.map {
                                ($0.key, d(f.days > 0 ? Double($0.value) / f.days * 7 : nil))
                            })
                    ),
                    ("points_per_day", d(f.days > 0 ? f.arrivedPoints / f.days : nil, 100)),
                    ("mean_held_days", d(f.meanHeldDays)), ("capacity_points", d(f.capacity)),
                    ("present_capacity_points", d(f.presentCapacity)), ("load_ratio", d(f.loadRatio, 100)),
                    ("utilisation_pct", d(f.utilisation.map { $0 * 100 })),
                    ("waiting", .int(Int64(f.waitingNow))),
                    ("waiting_change", .int(Int64(f.waitingNow - f.waitingAtStart))),
                    ("workers_needed", f.workersNeeded.map { .int(Int64($0)) } ?? .null),
                ]
            }
            ctx.list(
                inv, records,
                [
                    Column(header: "TEAM", key: "team"),
                    Column(header: "ARRIVALS/WEEK", key: "arrivals_per_week", numeric: true),
                    Column(header: "POINTS/DAY", key: "points_per_day", numeric: true),
                    Column(header: "DAYS HELD", key: "mean_held_days", numeric: true),
                    Column(header: "CAPACITY", key: "present_capacity_points", numeric: true),
                    Column(header: "LOAD RATIO", key: "load_ratio", numeric: true),
                    Column(header: "UTILISATION %", key: "utilisation_pct", numeric: true),
                    Column(header: "WAITING", key: "waiting", numeric: true),
                    Column(header: "CHANGE", key: "waiting_change", numeric: true),
                    Column(header: "WORKERS NEEDED", key: "workers_needed", numeric: true),
                ], format: format)
            return 0
        })

    /// Per team, in roster order, from the events since `since` and the projections now.
    static func capacityFigures(
        _ store: Store, roster: Roster, policies: PolicySet, since: Date, now: Date
    ) throws -> [CapacityFigures] {
        var fold = CapacityFold(roster: roster, policies: policies)
        try store.log(LogFilter(until: now.addingTimeInterval(1), types: CapacityFold.types)) { fold.apply($0) }
        return try fold.figures(store, since: since, now: now)
    }
}

/// Each referral's life as `duty capacity` needs it (team, points, first level, received, allocated, closed),
/// folded from the log in order: by `capacityFigures`, and by `duty report` in its own pass over the log.
/// Updates from the case system are followed as the database follows them: another kind, team, complexity or
/// received time, and a closed referral reopened (waiting again).
struct CapacityFold {
    /// The event types it folds.
    static let types = [
        "referral.received", "referral.updated", "triage.rated", "allocation.assigned", "override.assigned",
        "override.unassigned", "referral.closed",
    ]

    struct Life {
        var team: String?
        var kind = ""
        var complexity = 3
        var points = 0.0
        var level: String?
        var received: Date?
        var assigned: Date?
        var closed: Date?
    }

    let roster: Roster
    let policies: PolicySet
    var lives: [String: Life] = [:]

    init(roster: Roster, policies: PolicySet) {
        self.roster = roster
        self.policies = policies
    }

    /// Folds one event (others than `types` are ignored). Fields are found by a scan of the event's data, parsed
    /// only when the scan cannot tell, so the cost follows the number of events, not their size.
    mutating func apply(_ e: StoredEvent) {
        guard let id = e.referral else { return }
        let utc = TimeZone.utc
        func time() -> Date? { ISOTime.parse(e.at, timeZone: utc) }
        func string(_ key: String) -> String? {
            StoredEvent.topLevelString(key, in: e.data).map { $0.value } ?? e.dataValue[key]?.stringValue
        }
        switch e.type {
        case "referral.received", "referral.updated":
            // An update names only what changed, most often flags or facts: a field is scanned for only when its
            // key's bytes occur (memchr), and points are worked out again only when kind or complexity changed.
            let isUpdate = e.type == "referral.updated"
            func named(_ key: String) -> Bool { !isUpdate || StoredEvent.contains("\"\(key)\":", in: e.data) }
            func update(_ life: inout Life) {
                var pointsChanged = !isUpdate
                if named("kind"), let kind = string("kind") {
                    life.kind = kind
                    life.team = roster.teamForKind[kind]
                    pointsChanged = true
                }
                if named("team"), let team = string("team") { life.team = team }
                if named("complexity"),
                    let complexity = StoredEvent.topLevelInteger("complexity", in: e.data).map({ $0.value })
                        ?? e.dataValue["complexity"]?.intValue
                {
                    life.complexity = Int(complexity)
                    pointsChanged = true
                }
                if pointsChanged {
                    life.points = policies.allocation.points(kind: life.kind, complexity: life.complexity)
                }
                if named("received"), let received = string("received").flatMap({ ISOTime.parse($0, timeZone: utc) }) {
                    life.received = received
                } else if life.received == nil {
                    life.received = time()
                }
                if isUpdate && named("status") && string("status") == "open" {
                    life.assigned = nil
                    life.closed = nil
                }
            }
            update(&lives[id, default: Life()])
        case "triage.rated":
            if lives[id]?.level == nil { lives[id, default: Life()].level = string("level") }
        case "referral.closed":
            lives[id, default: Life()].closed = time()
        case "override.unassigned":
            lives[id, default: Life()].assigned = nil
        case "allocation.assigned", "override.assigned":
            lives[id, default: Life()].assigned = time()
        default: break
        }
    }

    /// The figures per team, in roster order, for the window `since` to `now` (the fold must have seen the log to
    /// `now`), with the absences in the window from `store`.
    func figures(_ store: Store, since: Date, now: Date) throws -> [ReadCommands.CapacityFigures] {
        let days = now.timeIntervalSince(since) / 86_400
        let absences = try store.absences(endingAfter: since)
        var out: [ReadCommands.CapacityFigures] = []
        for team in roster.teams {
            var f = ReadCommands.CapacityFigures(team: team.id, days: days)
            let caseworkers = roster.workers.filter { $0.team == team.id && $0.capacity > 0 }
            f.caseworkers = caseworkers.count
            f.capacity = caseworkers.reduce(0) { $0 + $1.capacity }
            f.meanWorkerCapacity = caseworkers.isEmpty ? 0 : f.capacity / Double(caseworkers.count)
            f.presentCapacity = caseworkers.reduce(0.0) { total, w in
                let away = absences.filter { $0.absence.worker == w.id }.reduce(0.0) { sum, a in
                    sum + max(0, min(a.absence.to, now).timeIntervalSince(max(a.absence.from, since)))
                }
                return total + w.capacity * max(0, 1 - away / max(1, now.timeIntervalSince(since)))
            }
            for (_, life) in lives where life.team == team.id {
                if let r = life.received, r >= since, r <= now {
                    f.arrivals += 1
                    f.arrivedPoints += life.points
                    f.arrivalsByLevel[life.level ?? "unrated", default: 0] += 1
                }
                if let a = life.assigned {
                    if a >= since { f.allocations += 1 }
                    if let c = life.closed, c >= since, c <= now, c >= a {
                        f.held.append(c.timeIntervalSince(a) / 86_400)
                    }
                    if life.closed == nil { f.allocatedPointsNow += life.points }
                }
                let waitingAt = { (t: Date) -> Bool in
                    guard let r = life.received, r <= t else { return false }
                    if let a = life.assigned, a <= t { return false }
                    if let c = life.closed, c <= t { return false }
                    return true
                }
                if waitingAt(now) { f.waitingNow += 1 }
                if waitingAt(since) { f.waitingAtStart += 1 }
            }
            out.append(f)
        }
        return out
    }
}

import DutyControl
import DutyCore
import DutyEngine
import DutyPolicy
import DutyState
import DutyStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

enum ReadCommands {
    static func formatOption(_ allowed: String = "table, json or csv") -> OptionSpec {
        OptionSpec(long: "format", value: "FORMAT", help: allowed)
    }

    // MARK: status

    static let status = CommandSpec(
        name: "status", summary: "is dutyd running; its last cycle; what waits, by level",
        options: [formatOption("table or json")],
        discussion: "Reads the database, so it works while dutyd is stopped: it then says so and exits 69.",
        examples: ["duty status", "duty status --format json"],
        run: { inv throws(DutyError) in
            let format = try inv.format(["table", "json"])
            let ctx = try ReadContext(inv)
            let response = try? ControlClient.send(
                ControlRequest(op: .status), socketPath: ctx.config.socketPath, timeout: 5)
            let running = response?.ok == true
            let now = inv.console.now()
            // Counted by SQLite, not loaded: four lines should not cost the whole waiting list.
            let counts = try ctx.reading { try ctx.store.waitingCounts(now: now) }
            var byLevel = counts.byLevel.map { ($0.level ?? "unrated", $0.count) }
            let ranks = ctx.levelRanks
            byLevel.sort { (ranks[$0.0]?.0 ?? 0, $1.0) > (ranks[$1.0]?.0 ?? 0, $0.0) }
            let waitingCount = byLevel.reduce(0) { $0 + $1.1 }
            let blocked = counts.blocked
            let overdue = counts.overdue
            let lastCycle = response?.result?["last_cycle"] ?? .null
            let outbox = try ctx.reading { try ctx.store.outboxState() }
            // The case system: the pull's state from dutyd, each write-back channel's from the outbox.
            let source = response?.result?["source"].flatMap { $0.isNull ? nil : $0 }
            var channels: [(String, OutboxState)] = []
            if let w = ctx.config.writeBack {
                for (name, on) in [("write_back.dir", w.dir != nil), ("write_back.url", w.url != nil)] where on {
                    channels.append((name, try ctx.reading { try ctx.store.outboxState(channel: name) }))
                }
            }
            let writeBack: [(String, JSONValue)] = channels.map { name, s in
                (
                    name,
                    .object([
                        ("unsent", .int(Int64(s.pending))), ("oldest", .time(s.oldest)),
                        ("retrying", .int(Int64(s.retrying))), ("last_error", .string(s.lastError)),
                    ])
                )
            }
            if format == "json" {
                inv.console.out(
                    JSONValue.object(
                        [
                            ("daemon", .string(running ? "running" : "stopped")),
                            ("version", response?.result?["version"] ?? .string(DutyVersion.string)),
                            ("last_cycle", lastCycle),
                            ("waiting", .object(byLevel.map { ($0.0, .int(Int64($0.1))) })),
                            ("blocked", .int(Int64(blocked))),
                            ("overdue", .int(Int64(overdue))),
                        ]
                            + (ctx.config.source == nil ? [] : [("source", source ?? .null)])
                            + (writeBack.isEmpty ? [] : [("write_back", .object(writeBack))])
                            // With a notify_command: the outbox (what is not yet sent).
                            + (ctx.config.notifyCommand == nil
                                ? []
                                : [
                                    (
                                        "outbox",
                                        .object([
                                            ("unsent", .int(Int64(outbox.pending))), ("oldest", .time(outbox.oldest)),
                                            ("retrying", .int(Int64(outbox.retrying))),
                                            ("last_error", .string(outbox.lastError)),
                                        ])
                                    )
                                ])
                    ).serialized())
            } else {
                let cycle = lastCycle.timeValue.map { Render.localTime($0, ctx.zone) } ?? "none yet"
                inv.console.out(
                    running
                        ? "dutyd: running (\(response?.result?["version"]?.stringValue ?? "?")), last cycle \(cycle)"
                        : "dutyd: not running")
                let levels = byLevel.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
                inv.console.out("waiting: \(waitingCount)\(levels.isEmpty ? "" : " (\(levels))")")
                inv.console.out("blocked: \(blocked)")
                inv.console.out("overdue: \(overdue)")
                if ctx.config.source != nil {
                    if let source, source["ok"]?.boolValue == false {
                        let since = source["failing_since"]?.timeValue.map { Render.localTime($0, ctx.zone) } ?? "?"
                        inv.console.out(
                            "source: failing since \(since) (\(source["failures"]?.intValue ?? 0) attempts): \(source["last_error"]?.stringValue ?? "?")"
                        )
                    } else if let last = source?["last_success"]?.timeValue {
                        inv.console.out("source: ok, last read \(Render.localTime(last, ctx.zone))")
                    } else {
                        inv.console.out("source: not read yet")
                    }
                }
                for (name, s) in channels {
                    let oldest = s.oldest.map { Render.localTime($0, ctx.zone) } ?? "?"
                    inv.console.out(
                        s.pending == 0
                            ? "write-back: up to date (\(name))"
                            : "write-back: \(s.pending) unsent since \(oldest) (\(name))"
                                + (s.retrying > 0 ? ", failing: \(s.lastError ?? "?")" : ""))
                }
                if outbox.pending > 0 {
                    let oldest = outbox.oldest.map { Render.localTime($0, ctx.zone) } ?? "?"
                    inv.console.out(
                        "notifications: \(outbox.pending) unsent since \(oldest)"
                            + (outbox.retrying > 0
                                ? ", \(outbox.retrying) failed and retrying (last error: \(outbox.lastError ?? "?"))"
                                : ""))
                }
            }
            if !running { throw DutyError(.unavailable, "dutyd is not running (systemctl start dutyd?)") }
            return 0
        })

    // MARK: waiting

    static let waiting = CommandSpec(
        name: "waiting", summary: "the waiting list in allocation order",
        options: [
            OptionSpec(long: "team", value: "T", help: "only this team"),
            OptionSpec(long: "kind", value: "K", help: "only this kind"),
            OptionSpec(long: "level", value: "L", help: "only this level"),
            OptionSpec(long: "blocked", help: "only those no worker could take"),
            OptionSpec(long: "overdue", help: "only those past their due time"), formatOption(),
        ],
        discussion:
            "The order dutyd allocates in, from the ratings of the last cycle: top-rank risk first (on its risk, whatever its age) when max_wait has yields_to, then those waiting past max_wait (earliest received first), then the policy's order (by default highest rank, earliest due, earliest received), then id. Referrals not yet rated (the next cycle rates them) come last. 'duty why REF' says what puts each one where it is.",
        examples: ["duty waiting --team safeguarding", "duty waiting --level red --overdue --format csv"],
        run: { inv throws(DutyError) in
            let format = try inv.format(["table", "json", "csv"])
            let ctx = try ReadContext(inv)
            try ctx.checkFilters(inv, command: "waiting")
            let now = inv.console.now()
            let rows = try ctx.reading {
                try ctx.store.waiting(
                    WaitingFilter(
                        team: inv.value("team"), kind: inv.value("kind"), level: inv.value("level"),
                        blockedOnly: inv.flag("blocked"), overdueAt: inv.flag("overdue") ? now : nil), light: true,
                    ordered: ctx.policies == nil)
            }
            let order =
                ctx.policies.map { EngineState.allocationOrder(rows, policies: $0, now: now) } ?? Array(rows.indices)
            if !rows.isEmpty, let note = ctx.staleRatingsNote(now: now) { inv.console.err(note) }
            let records: [[(String, JSONValue)]] = order.map { i in
                let r = rows[i]
                return [
                    ("id", .string(r.id)), ("person", .string(r.person)), ("kind", .string(r.kind)),
                    ("team", .string(r.team)),
                    ("level", .string(r.level)), ("rank", r.rank.map { .int(Int64($0)) } ?? .null),
                    ("received", .time(r.received)), ("waiting_days", Render.days(now.timeIntervalSince(r.received))),
                    ("due", .time(r.due)), ("overdue", .bool((r.due ?? .distantFuture) < now)),
                    ("blocked", .string(r.blocked)),
                    ("next_review", .time(ctx.nextReview(r))),
                ]
            }
            ctx.list(
                inv, records,
                [
                    Column(header: "REFERRAL", key: "id"), Column(header: "KIND", key: "kind"),
                    Column(header: "TEAM", key: "team"),
                    Column(header: "LEVEL", key: "level"), Column(header: "DAYS", key: "waiting_days", numeric: true),
                    Column(header: "DUE", key: "due"), Column(header: "OVERDUE", key: "overdue"),
                    Column(header: "BLOCKED", key: "blocked"), Column(header: "NEXT REVIEW", key: "next_review"),
                ], format: format,
                fields: [
                    "id", "person", "kind", "team", "level", "rank", "received", "waiting_days", "due", "overdue",
                    "blocked", "next_review",
                ])
            return 0
        })

    // MARK: log

    static let log = CommandSpec(
        name: "log", summary: "events of the allocation log",
        options: [
            OptionSpec(long: "since", value: "T", help: "from this time (ISO, -2d, today...)"),
            OptionSpec(long: "until", value: "T", help: "before this time"),
            OptionSpec(long: "type", value: "T", help: "an event type, or a family like triage or triage.*"),
            OptionSpec(long: "referral", value: "R", help: "one referral's events"),
            OptionSpec(long: "worker", value: "W", help: "events about or by a worker"),
            OptionSpec(long: "n", short: "n", value: "N", help: "the last N events"), formatOption(),
        ],
        examples: [
            "duty log --since today", "duty log --type escalation.raised -n 20",
            "duty log --referral LAS-1 --format json",
        ],
        run: { inv throws(DutyError) in
            let format = try inv.format(["table", "json", "csv"])
            let ctx = try ReadContext(inv)
            let now = inv.console.now()
            func time(_ key: String) throws(DutyError) -> Date? {
                try inv.value(key).map { v throws(DutyError) in try TimeArgument.parse(v, now: now, timeZone: ctx.zone)
                }
            }
            var limit: Int?
            if let n = inv.value("n") {
                guard let v = Int(n), v >= 0 else { throw DutyError(.usage, "-n needs a whole number", cause: "log") }
                limit = v
            }
            try ctx.checkFilters(inv, command: "log")
            let filter = LogFilter(
                since: try time("since"), until: try time("until"), type: inv.value("type"),
                referral: inv.value("referral"),
                worker: inv.value("worker"), limit: limit)
            // Streamed: JSON and CSV line by line, the table in blocks of 10,000 rows whose columns only widen.
            var table = TextTable(["SEQ", "AT", "EVENT", "REFERRAL", "ACTOR", "DETAIL"])
            table.rightAligned = [0]
            var widths: [Int] = []
            func flushTable(header: Bool) {
                widths = table.columnWidths(width: inv.console.width, atLeast: widths)
                let lines = table.render(width: inv.console.width, atLeast: widths)
                for line in lines.dropFirst(header ? 0 : 1) { inv.console.out(line) }
                table.rows.removeAll(keepingCapacity: true)
            }
            if format == "csv" { inv.console.out("seq,at,type,referral,actor,data,hash") }
            var blocks = 0
            try ctx.reading {
                try ctx.store.log(filter) { e in
                    switch format {
                    case "json": inv.console.out(e.jsonLine)
                    case "csv":
                        inv.console.out(
                            [String(e.seq), e.at, e.type, e.referral ?? "", e.actor, e.data, e.hash].map {
                                CSV.escape($0)
                            }.joined(separator: ","))
                    default:
                        table.add([
                            String(e.seq),
                            ISOTime.parse(e.at, timeZone: ctx.zone).map { Render.localTime($0, ctx.zone) } ?? e.at,
                            e.type, e.referral ?? "-", e.actor, summary(e),
                        ])
                        if table.rows.count == 10_000 {
                            flushTable(header: blocks == 0)
                            blocks += 1
                        }
                    }
                }
            }
            if format == "table" && (blocks == 0 || !table.rows.isEmpty) { flushTable(header: blocks == 0) }
            return 0
        })

    // MARK: stats

    static let stats = CommandSpec(
        name: "stats", summary: "per queue: waiting, median and max days, allocated, % within timescale, overdue",
        options: [
            OptionSpec(long: "by", value: "kind|team|level", help: "the grouping (default kind)"),
            OptionSpec(long: "as-of", value: "T", help: "as at this time (default now)"), formatOption(),
        ],
        discussion: """
            waiting: not allocated or closed at the time; median/max days: how long those have waited;
            allocated: allocated and still open; within %: of those allocated by then, the share allocated by
            their due time; overdue: waiting past due; reviews overdue: waiting past their level's review_every.
            """,
        examples: ["duty stats", "duty stats --by team --as-of 2024-03-31 --format csv"],
        run: { inv throws(DutyError) in
            let format = try inv.format(["table", "json", "csv"])
            guard let grouping = StatsGrouping(rawValue: inv.value("by") ?? "kind") else {
                throw DutyError(.usage, "--by takes kind, team or level", cause: "stats")
            }
            let ctx = try ReadContext(inv)
            let asOf =
                try inv.value("as-of").map { v throws(DutyError) in
                    try TimeArgument.parse(v, now: inv.console.now(), timeZone: ctx.zone)
                } ?? inv.console.now()
            var rows = try ctx.reading {
                try ctx.store.stats(by: grouping, asOf: asOf, reviewEvery: ctx.reviewEvery, timeZone: ctx.zone)
            }
            if grouping == .level {
                // Levels by rank, highest first (as the waiting list), not by name.
                let ranks = ctx.levelRanks
                rows.sort { (ranks[$0.key]?.0 ?? -1, $1.key) > (ranks[$1.key]?.0 ?? -1, $0.key) }
            }
            let records: [[(String, JSONValue)]] = rows.map { r in
                [
                    ("key", .string(r.key)), ("waiting", .int(Int64(r.waiting))),
                    ("median_days", r.medianDays.map { .number(($0 * 10).rounded() / 10) } ?? .null),
                    ("max_days", r.maxDays.map { .number(($0 * 10).rounded() / 10) } ?? .null),
                    ("allocated", .int(Int64(r.allocated))),
                    ("within_timescale_pct", r.withinTimescalePct.map { .number(($0 * 10).rounded() / 10) } ?? .null),
                    ("overdue", .int(Int64(r.overdue))), ("reviews_overdue", .int(Int64(r.reviewsOverdue))),
                ]
            }
            Render.list(
                records,
                columns: [
                    Column(header: grouping.rawValue.uppercased(), key: "key"),
                    Column(header: "WAITING", key: "waiting", numeric: true),
                    Column(header: "MEDIAN DAYS", key: "median_days", numeric: true),
                    Column(header: "MAX DAYS", key: "max_days", numeric: true),
                    Column(header: "ALLOCATED", key: "allocated", numeric: true),
                    Column(header: "WITHIN %", key: "within_timescale_pct", numeric: true),
                    Column(header: "OVERDUE", key: "overdue", numeric: true),
                    Column(header: "REVIEWS OVERDUE", key: "reviews_overdue", numeric: true),
                ], format: format, console: inv.console, timeZone: ctx.zone)
            return 0
        })

    // MARK: caseload

    static let caseload = CommandSpec(
        name: "caseload", summary: "workers: load, capacity, open allocations, absent now",
        options: [OptionSpec(long: "team", value: "T", help: "only this team"), formatOption()],
        examples: ["duty caseload --team dols"],
        run: { inv throws(DutyError) in
            let format = try inv.format(["table", "json", "csv"])
            let ctx = try ReadContext(inv)
            try ctx.checkFilters(inv, command: "caseload")
            guard let roster = ctx.roster, let policies = ctx.policies else {
                throw DutyError(.invalidData, "the roster or policies do not load: run 'duty policy check'")
            }
            let now = inv.console.now()
            let allocations = try ctx.reading { try ctx.store.allocations() }
            let away = Set(
                try ctx.reading { try ctx.store.absences(endingAfter: now) }.filter { $0.absence.covers(now) }.map(
                    \.absence.worker))
            var load: [String: Double] = [:]
            var open: [String: Int] = [:]
            for a in allocations {
                guard let w = a.worker else { continue }
                load[w, default: 0] += policies.allocation.points(kind: a.kind, complexity: a.complexity)
                open[w, default: 0] += 1
            }
            let workers = roster.workers.filter {
                (inv.value("team") == nil || $0.team == inv.value("team"))
                    && (!$0.isManager || $0.capacity > 0 || open[$0.id] != nil)
            }
            let records: [[(String, JSONValue)]] = workers.sorted { ($0.team, $0.id) < ($1.team, $1.id) }.map { w in
                [
                    ("worker", .string(w.id)), ("team", .string(w.team)), ("load", .number(load[w.id] ?? 0)),
                    ("capacity", .number(w.capacity)), ("open", .int(Int64(open[w.id] ?? 0))),
                    ("absent", .bool(away.contains(w.id))),
                ]
            }
            ctx.list(
                inv, records,
                [
                    Column(header: "WORKER", key: "worker", person: true), Column(header: "TEAM", key: "team"),
                    Column(header: "LOAD", key: "load", numeric: true),
                    Column(header: "CAPACITY", key: "capacity", numeric: true),
                    Column(header: "OPEN", key: "open", numeric: true), Column(header: "ABSENT", key: "absent"),
                ], format: format)
            return 0
        })

    // MARK: inbox

    static let inbox = CommandSpec(
        name: "inbox", summary: "what waits for you: acknowledgements, escalations, reviews due",
        options: [
            OptionSpec(long: "all", help: "list every row in the table (else rows below the top rank fold)"),
            formatOption(),
        ],
        discussion: """
            You are the roster person whose unix_user is your login. When there are more than 50 rows, the table
            lists acknowledgements and anything at the top rank one by one up to 50 rows, and the rest fold into
            one row per reason and level (--all lists them). JSON and CSV list every row.
            """,
        examples: ["duty inbox"],
        run: { inv throws(DutyError) in
            let format = try inv.format(["table", "json", "csv"])
            let ctx = try ReadContext(inv)
            guard let roster = ctx.roster else {
                throw DutyError(.invalidData, "the roster does not load: run 'duty policy check'")
            }
            let user = String(cString: getpwuid(getuid())?.pointee.pw_name ?? strdup("?"))
            guard let me = roster.workerByUnixUser[user] else {
                throw DutyError(.notFound, "you (\(user)) are not in the roster: ask for your unix_user to be added")
            }
            let teams = Set(roster.teams.map(\.id).filter { roster.chain(forTeam: $0).contains(me.id) })
            let rows = try ctx.reading {
                try ctx.store.inbox(
                    person: me.id, minRank: ctx.policies?.allocation.acknowledgeMinRank, teams: teams,
                    now: inv.console.now(),
                    reviewEvery: ctx.reviewEvery, timeZone: ctx.zone)
            }
            var shown = rows
            let top = ctx.levelRanks.values.map(\.0).max()
            if format == "table" && !inv.flag("all") && rows.count > 50, let top {
                // Folded, as notifications are: acknowledgements and the top rank by name, up to 50 rows; the rest
                // counted per reason and level.
                shown = []
                var folded: [InboxRow] = []
                for r in rows {
                    if (r.reason == "ack" || (r.rank ?? 0) >= top) && shown.count < 50 {
                        shown.append(r)
                    } else {
                        folded.append(r)
                    }
                }
                var folds: [String: (InboxRow, Int)] = [:]
                for r in folded {
                    let key = r.reason + "\u{0}" + (r.level ?? "")
                    if let f = folds[key] {
                        folds[key] = (f.0.since <= r.since ? f.0 : r, f.1 + 1)
                    } else {
                        folds[key] = (r, 1)
                    }
                }
                for (_, (oldest, n)) in folds.sorted(by: { $0.key < $1.key }) {
                    shown.append(
                        InboxRow(
                            reason: oldest.reason, referral: "(\(n) referrals)", since: oldest.since,
                            detail:
                                "\(oldest.reason) at \(oldest.level ?? "unrated") since the oldest: duty inbox --all lists them",
                            level: oldest.level, rank: oldest.rank))
                }
            }
            let records: [[(String, JSONValue)]] = shown.map {
                [
                    ("referral", .string($0.referral)), ("reason", .string($0.reason)), ("since", .time($0.since)),
                    ("detail", .string($0.detail)),
                ]
            }
            ctx.list(
                inv, records,
                [
                    Column(header: "REFERRAL", key: "referral"), Column(header: "REASON", key: "reason"),
                    Column(header: "SINCE", key: "since"), Column(header: "DETAIL", key: "detail"),
                ], format: format)
            return 0
        })

    // MARK: export

    static let export = CommandSpec(
        name: "export", summary: "referrals with their timestamps, for BI tools",
        options: [
            OptionSpec(long: "since", value: "T", help: "received from this time"),
            OptionSpec(long: "format", value: "FORMAT", help: "csv or json", required: true),
        ],
        examples: ["duty export --format csv > referrals.csv", "duty export --since 2024-04-01 --format json"],
        run: { inv throws(DutyError) in
            let format = try inv.format(["csv", "json"])
            let ctx = try ReadContext(inv)
            let since = try inv.value("since").map { v throws(DutyError) in
                try TimeArgument.parse(v, now: inv.console.now(), timeZone: ctx.zone)
            }
            var writer = Render.RecordWriter(format: format, console: inv.console)
            try ctx.reading {
                try ctx.store.export(since: since) { r in
                    writer.write([
                        ("id", .string(r.id)), ("person", .string(r.person)), ("kind", .string(r.kind)),
                        ("team", .string(r.team)),
                        ("state", .string(r.state)), ("level", .string(r.level)), ("worker", .string(r.worker)),
                        ("manager", .string(r.manager)), ("received", .time(r.received)), ("rated", .time(r.rated)),
                        ("allocated", .time(r.allocated)), ("due", .time(r.due)), ("closed", .time(r.closed)),
                    ])
                }
            }
            writer.finish(keys: [
                "id", "person", "kind", "team", "state", "level", "worker", "manager", "received", "rated", "allocated",
                "due", "closed",
            ])
            return 0
        })
}

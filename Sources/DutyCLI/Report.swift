import DutyCore
import DutyPolicy
import DutyReport
import DutyStore
import Foundation

/// `duty report`: the figures a Director of Adult Social Services takes to the board and CQC asks for, as one
/// self-contained HTML page built from the log. Counts only: no referral or person ids.
enum Report {
    static let command = CommandSpec(
        name: "report", summary: "an HTML performance report for a board, a scrutiny panel or CQC",
        options: [
            OptionSpec(long: "from", value: "DATE", help: "start of the period (default a year before --to)"),
            OptionSpec(long: "to", value: "DATE", help: "end of the period (default now)"),
            OptionSpec(long: "team", value: "T", help: "only this team"),
            OptionSpec(long: "output", value: "FILE", help: "the HTML file to write", required: true),
        ],
        discussion: """
            One HTML file (inline SVG and CSS, no scripts, no network fetches, A4 print): people waiting now and
            at the start, per team the waiting list over time by level and the CQC measures per month, the load
            ratio, accountability (fallback managers, acknowledgements, escalations), reviews, and how each
            figure is computed. Counts only.
            """,
        examples: [
            "duty report --output report.html", "duty report --from 2024-04-01 --to 2025-03-31 --output q4.html",
        ],
        run: { inv throws(DutyError) in try run(inv) })

    /// Per team, per month.
    struct Month {
        var waitingEnd = 0
        var medianDays: Double?
        var longestDays: Double?
        var allocated = 0
        var within = 0
        var reviews = 0
        /// Of the reviews recorded, those made by the time the level's `review_every` had run since the last one
        /// (or since received).
        var reviewsOnTime = 0
        /// People waiting at month end whose review was due and not made.
        var reviewsOverdue = 0
    }

    struct EscalationKey: Hashable {
        var team: String
        var to: String
    }

    /// What one pass over the log gathers.
    struct Gathered {
        var samples: [Date] = []
        /// team -> level -> count at each sample.
        var waiting: [String: [String: [Double]]] = [:]
        var months: [String: [Month]] = [:]
        var allocations = 0
        var fallbacks = 0
        /// Top-rank allocations made in the period that had to be acknowledged and whose time to do it had run
        /// out by the end (or that were acknowledged): on time, late, never.
        var acknowledgedOnTime = 0
        var acknowledgedLate = 0
        var neverAcknowledged = 0
        /// Escalations raised in the period, by the referral's team and the person they went to.
        var escalations: [EscalationKey: Int] = [:]
        var waitingAtStart: [String: Int] = [:]
        var waitingAtEnd: [String: Int] = [:]
        /// When duty's log begins (its first event), if it has one.
        var logStart: Date?
    }

    static func run(_ inv: Invocation) throws(DutyError) -> Int32 {
        let ctx = try ReadContext(inv)
        guard let roster = ctx.roster, let policies = ctx.policies else {
            throw DutyError(.invalidData, "the roster or policies do not load: run 'duty policy check'")
        }
        let now = inv.console.now()
        // A day given as --to is included to its end (`--from 2024-04-01 --to 2025-03-31` is the financial year),
        // and a period reports what has happened: it ends now at the latest.
        var to = now
        if let text = inv.value("to") {
            let at = try TimeArgument.parse(text, now: now, timeZone: ctx.zone)
            to = min(now, TimeArgument.namesADay(text) ? Duration.days(1).after(at, in: ctx.zone) : at)
        }
        let from =
            try inv.value("from").map { v throws(DutyError) in try TimeArgument.parse(v, now: now, timeZone: ctx.zone) }
            ?? Calendar.current.date(byAdding: .year, value: -1, to: to)!
        guard from < now else {
            throw DutyError(.usage, "the period starts after now: a report covers what has happened", cause: "report")
        }
        guard from < to else { throw DutyError(.usage, "--from must be before --to", cause: "report") }
        // As intake refuses a referral received before then: a year typed as 0001 or 1924 is a mistake, and a
        // period of centuries would be gigabytes of page.
        guard from >= ReferralDecoder.earliestReceived else {
            throw DutyError(
                .usage, "--from \(ISOTime.formatDate(from, in: ctx.zone)) is before 1990-01-01: check the date",
                cause: "report")
        }
        // The roster's teams, and any team the database holds referrals of that the roster no longer has (merged
        // or renamed in a restructure): its history still belongs in the year's figures.
        let former = try ctx.reading { try ctx.store.teamsWithReferrals() }.filter { roster.teamByID[$0.team] == nil }
            .map {
                Team(id: $0.team, name: "\($0.team) (no longer in the roster)", service: "", kinds: $0.kinds)
            }
        let only = inv.value("team")
        let known = roster.teams + former
        if let only, !known.contains(where: { $0.id == only }) {
            var message = "no team '\(only)'"
            if let guess = closestMatch(only, in: known.map(\.id)) { message += "; did you mean '\(guess)'?" }
            throw DutyError(.usage, message, cause: "report")
        }
        var teams = known.filter { only == nil || $0.id == only }
        // One pass over the log for the report's figures and `duty capacity`'s (over the last 12 weeks).
        var fold = CapacityFold(roster: roster, policies: policies)
        let gathered = try ctx.reading {
            try gather(
                ctx.store, teams: Set(teams.map(\.id)), from: from, to: to, zone: ctx.zone, policies: policies,
                capacity: &fold)
        }
        // A former team appears when it had referrals waiting or allocated in the period.
        teams.removeAll { team in
            roster.teamByID[team.id] == nil
                && (gathered.waiting[team.id] ?? [:]).values.allSatisfy { $0.allSatisfy { $0 == 0 } }
                && (gathered.months[team.id] ?? []).allSatisfy { $0.allocated == 0 }
        }
        let figures = try ctx.reading {
            try fold.figures(ctx.store, since: max(from, to.addingTimeInterval(-84 * 86_400)), now: to)
        }
        let page = render(
            gathered, teams: teams, roster: roster, policies: policies, capacity: figures, from: from, to: to,
            zone: ctx.zone)
        guard let path = inv.value("output") else { return 64 }
        try OutputFile.write(page, to: path)
        inv.console.out("report for \(period(from, to, ctx.zone)) written to \(path)")
        return 0
    }

    /// "2024-04-01 to 2025-03-31": the first and last days of the period from `from` up to (not including) `to`.
    static func period(_ from: Date, _ to: Date, _ zone: TimeZone) -> String {
        "\(ISOTime.formatDate(from, in: zone)) to \(ISOTime.formatDate(to.addingTimeInterval(-1), in: zone))"
    }

    /// One pass over the log to `to`, which also feeds `capacity`: each referral's team, level, due time and
    /// whether it waits, counted per team and level at each day's end; allocations, acknowledgements, escalations
    /// and reviews in the period.
    ///
    /// A referral waits from the time the case system received it, also when it reached duty later (a backlog
    /// loaded when duty went live, a spool that lagged): the days and month ends between the two are counted
    /// when its first rating arrives, at that level. Updates from the case system (another team, another
    /// received time, a closed referral reopened) are followed as the projection follows them.
    static func gather(
        _ store: Store, teams: Set<String>, from: Date, to: Date, zone: TimeZone, policies: PolicySet,
        capacity: inout CapacityFold
    ) throws -> Gathered {
        struct Open {
            var team: String
            var level: String
            var received: Double
            var due: Double
            var waiting: Bool
            /// The level's `review_every`, and when the last review was (received before the first).
            var reviewEvery: Duration? = nil
            var lastReview: Double = 0
            var rank = 0
            /// The triage policy that rated it: its index in `policies.triage`, -1 when not loaded.
            var policy = -1
            /// When it reached duty after it was received: how many day samples and month ends had been counted
            /// without it then, to count it in from its received time once its level is known.
            var backfill: (samples: Int, months: Int)? = nil

            func reviewDue(_ zone: TimeZone) -> Double? {
                reviewEvery.map { $0.after(Date(timeIntervalSince1970: lastReview), in: zone).timeIntervalSince1970 }
            }
        }
        var g = Gathered()
        var open: [String: Open] = [:]
        // Closed referrals, kept apart so the open ones stay a small table: one may be reopened.
        var closed: [String: Open] = [:]
        var counts: [String: [String: Int]] = [:]
        // Samples at the end of each local day; month ends for the monthly measures.
        var samples: [Date] = [from]
        var day = Duration.days(1).after(ISOTime.parse(ISOTime.formatDate(from, in: zone), timeZone: zone)!, in: zone)
        while day <= to {
            samples.append(day)
            day = Duration.days(1).after(day, in: zone)
        }
        samples.append(to)
        g.samples = samples
        let monthStarts = Axis.monthRows(from: from, to: to, zone: zone).map(\.0)
        let monthEnds = Array(monthStarts.dropFirst()) + [to]
        func monthIndex(_ t: Double) -> Int? {
            guard t >= from.timeIntervalSince1970, t <= to.timeIntervalSince1970 else { return nil }
            return monthEnds.firstIndex { t <= $0.timeIntervalSince1970 }
        }
        for team in teams { g.months[team] = Array(repeating: Month(), count: monthEnds.count) }
        // Per team and month end: the waits (days) of those waiting then, and how many had a review overdue.
        var waits: [String: [[Double]]] = [:]
        var overdue: [String: [Int]] = [:]
        for team in teams {
            waits[team] = Array(repeating: [], count: monthEnds.count)
            overdue[team] = Array(repeating: 0, count: monthEnds.count)
        }
        func countAtMonthEnd(_ r: Open, _ m: Int) {
            let end = monthEnds[m].timeIntervalSince1970
            // Received at the instant a month ends (a bare date on the 1st is its midnight): the next month's.
            guard r.received < end else { return }
            waits[r.team]![m].append((end - r.received) / 86_400)
            if let due = r.reviewDue(zone), due < end { overdue[r.team]![m] += 1 }
        }
        let ackWithin = policies.allocation.acknowledgeWithin
        let ackRank = policies.allocation.acknowledgeMinRank
        // Allocations waiting for their acknowledgement: referral -> the time it is due by.
        var ackDue: [String: Double] = [:]
        /// An allocation that had to be acknowledged ends unacknowledged at `at` (another allocation, unassigned,
        /// closed): never acknowledged if its time had run out, else not counted.
        func dropAck(_ id: String, at: Double) {
            if let due = ackDue.removeValue(forKey: id), due < at { g.neverAcknowledged += 1 }
        }
        var sampleIndex = 0
        var monthEnd = 0
        func setWaiting(_ id: String, _ waiting: Bool) {
            guard var r = open[id], r.waiting != waiting else { return }
            counts[r.team, default: [:]][r.level, default: 0] += waiting ? 1 : -1
            r.waiting = waiting
            open[id] = r
        }
        /// Counts a referral that reached duty after it was received in the samples and month ends before it
        /// arrived, from its received time, at its level now.
        // How many referrals wait to be counted in so (most events find none, and skip the lookup).
        var unsettled = 0
        func settle(_ id: String) {
            guard unsettled > 0, var r = open[id], let (s, m) = r.backfill else { return }
            unsettled -= 1
            r.backfill = nil
            open[id] = r
            guard teams.contains(r.team) else { return }
            // The first sample after it was received (samples are in time order).
            var (lo, hi) = (0, s)
            while lo < hi {
                let mid = (lo + hi) / 2
                if samples[mid].timeIntervalSince1970 <= r.received { lo = mid + 1 } else { hi = mid }
            }
            if lo < s {
                func bump(_ counts: inout [Double]) { for i in lo..<s { counts[i] += 1 } }
                bump(&g.waiting[r.team, default: [:]][r.level, default: Array(repeating: 0, count: samples.count)])
            }
            for i in 0..<m { countAtMonthEnd(r, i) }
        }
        func advance(to t: Double) {
            while sampleIndex < samples.count, samples[sampleIndex].timeIntervalSince1970 <= t {
                for team in teams {
                    for (level, n) in counts[team] ?? [:] {
                        g.waiting[team, default: [:]][level, default: Array(repeating: 0, count: samples.count)][
                            sampleIndex] = Double(n)
                    }
                }
                sampleIndex += 1
            }
            while monthEnd < monthEnds.count, monthEnds[monthEnd].timeIntervalSince1970 <= t {
                for r in open.values where r.waiting && teams.contains(r.team) { countAtMonthEnd(r, monthEnd) }
                monthEnd += 1
            }
        }
        let utc = TimeZone.utc
        // A level's review_every, looked up once per policy and level rather than once per rating.
        struct Level: Hashable {
            var policy: Int
            var name: String
        }
        var everyOf: [Level: Duration?] = [:]
        func reviewEvery(policy: Int, level: String) -> Duration? {
            guard policy >= 0 else { return nil }
            let key = Level(policy: policy, name: level)
            if let known = everyOf[key] { return known }
            let every = policies.triage[policy].level(named: level)?.reviewEvery
            everyOf[key] = every
            return every
        }
        var policyIndex: [String: Int] = [:]
        func policy(_ id: String?) -> Int {
            guard let id else { return -1 }
            if let i = policyIndex[id] { return i }
            let i = policies.triage.firstIndex { $0.id == id } ?? -1
            policyIndex[id] = i
            return i
        }
        // The types this pass folds: the capacity fold's and the report's own.
        let folded =
            CapacityFold.types + [
                "triage.rerated", "override.rerated", "allocation.acknowledged", "escalation.raised", "review.recorded",
            ]
        g.logStart = try store.logBegins()
        try store.log(LogFilter(until: to.addingTimeInterval(1), types: folded)) { e in
            capacity.apply(e)
            guard let at = ISOTime.parse(e.at, timeZone: utc)?.timeIntervalSince1970 else { return }
            advance(to: at)
            func field(_ key: String) -> String? { StoredEvent.topLevelString(key, in: e.data)?.value ?? nil }
            func time(_ key: String) -> Double? {
                field(key).flatMap { ISOTime.parse($0, timeZone: utc) }?.timeIntervalSince1970
            }
            guard let id = e.referral else { return }
            switch e.type {
            case "referral.received":
                let received = time("received") ?? at
                var r = Open(
                    team: field("team") ?? "", level: "unrated", received: received, due: .infinity, waiting: false,
                    lastReview: received)
                if received < at && (sampleIndex > 0 || monthEnd > 0) {
                    r.backfill = (sampleIndex, monthEnd)
                    unsettled += 1
                }
                open[id] = r
                setWaiting(id, true)
            case "referral.updated":
                // Most updates change flags or facts, which the next rating reflects; these three move counts.
                let team = field("team")
                let received = time("received")
                let reopened = field("status") == "open"
                guard team != nil || received != nil || reopened else { return }
                func apply(_ r: inout Open) {
                    if let team { r.team = team }
                    if let received {
                        if r.lastReview == r.received { r.lastReview = received }
                        r.received = received
                    }
                }
                if var r = closed[id] {
                    apply(&r)
                    if reopened {
                        closed[id] = nil
                        open[id] = r
                        setWaiting(id, true)
                    } else {
                        closed[id] = r
                    }
                    return
                }
                guard open[id] != nil else { return }
                settle(id)
                let waiting = open[id]!.waiting
                setWaiting(id, false)
                apply(&open[id]!)
                setWaiting(id, waiting)
            case "triage.rated", "triage.rerated", "override.rerated":
                // A manager's pin (`duty rerate`) sets the level as a rating does; a cleared pin waits for the
                // next rating.
                let pin = e.type == "override.rerated"
                guard var r = open[id], let level = field(pin ? "to" : "level") else { return }
                if r.waiting { counts[r.team, default: [:]][r.level, default: 0] -= 1 }
                r.level = level
                if !pin { r.policy = policy(field("policy")) }
                r.reviewEvery = reviewEvery(policy: r.policy, level: level)
                r.due = time("due") ?? r.due
                r.rank = StoredEvent.topLevelInteger("rank", in: e.data)?.value.map { Int($0) } ?? r.rank
                if r.waiting { counts[r.team, default: [:]][r.level, default: 0] += 1 }
                open[id] = r
                settle(id)
            case "allocation.assigned", "override.assigned":
                settle(id)
                guard let r = open[id] else { return }
                dropAck(id, at: at)
                if r.waiting, teams.contains(r.team), let m = monthIndex(at) {
                    if let ackWithin, let ackRank, r.rank >= ackRank {
                        ackDue[id] = ackWithin.after(Date(timeIntervalSince1970: at), in: zone).timeIntervalSince1970
                    }
                    g.months[r.team]![m].allocated += 1
                    if at <= r.due { g.months[r.team]![m].within += 1 }
                    if e.type == "allocation.assigned" {
                        g.allocations += 1
                        if StoredEvent.contains(#""fallback":true"#, in: e.data) { g.fallbacks += 1 }
                    }
                }
                setWaiting(id, false)
            case "override.unassigned":
                dropAck(id, at: at)
                setWaiting(id, true)
            case "referral.closed":
                dropAck(id, at: at)
                settle(id)
                setWaiting(id, false)
                closed[id] = open.removeValue(forKey: id)
            case "allocation.acknowledged":
                guard let due = ackDue.removeValue(forKey: id) else { return }
                if at <= due { g.acknowledgedOnTime += 1 } else { g.acknowledgedLate += 1 }
            case "escalation.raised":
                guard let r = open[id], teams.contains(r.team), monthIndex(at) != nil else { return }
                g.escalations[EscalationKey(team: r.team, to: field("to") ?? "nobody present"), default: 0] += 1
            case "review.recorded":
                guard let r = open[id] else { return }
                if teams.contains(r.team), let m = monthIndex(at) {
                    g.months[r.team]![m].reviews += 1
                    if let due = r.reviewDue(zone), at <= due { g.months[r.team]![m].reviewsOnTime += 1 }
                }
                open[id]?.lastReview = at
            default: break
            }
        }
        advance(to: to.timeIntervalSince1970 + 1)
        // Allocations whose acknowledgement was due by the end and never came.
        g.neverAcknowledged += ackDue.values.filter { $0 <= to.timeIntervalSince1970 }.count
        // Referrals received in the period that reached duty after it (a backlog loaded at go-live) waited
        // through its end: counted in at their first level, as those that arrived within it are.
        var late: Set<String> = []
        try store.log(LogFilter(since: to.addingTimeInterval(1), types: ["referral.received", "triage.rated"])) { e in
            guard let id = e.referral else { return }
            let data = e.data
            if e.type == "referral.received", open[id] == nil, closed[id] == nil,
                let received = StoredEvent.topLevelString("received", in: data)?.value.flatMap({
                    ISOTime.parse($0, timeZone: utc)?.timeIntervalSince1970
                }), received < to.timeIntervalSince1970
            {
                var r = Open(
                    team: StoredEvent.topLevelString("team", in: data)?.value ?? "", level: "unrated",
                    received: received, due: .infinity, waiting: false, lastReview: received)
                r.backfill = (samples.count, monthEnds.count)
                unsettled += 1
                open[id] = r
                late.insert(id)
            } else if e.type == "triage.rated", late.remove(id) != nil,
                let level = StoredEvent.topLevelString("level", in: data)?.value
            {
                open[id]!.level = level
                open[id]!.policy = policy(StoredEvent.topLevelString("policy", in: data)?.value ?? nil)
                open[id]!.reviewEvery = reviewEvery(policy: open[id]!.policy, level: level)
                settle(id)
            }
        }
        for id in open.keys where open[id]?.backfill != nil { settle(id) }
        for team in teams {
            for m in monthEnds.indices {
                let w = waits[team]![m].sorted()
                g.months[team]![m].waitingEnd = w.count
                g.months[team]![m].medianDays = median(sorted: w)
                g.months[team]![m].longestDays = w.last
                g.months[team]![m].reviewsOverdue = overdue[team]![m]
            }
            let series = g.waiting[team] ?? [:]
            g.waitingAtStart[team] = Int(series.values.map { $0.first ?? 0 }.reduce(0, +))
            g.waitingAtEnd[team] = Int(series.values.map { $0.last ?? 0 }.reduce(0, +))
        }
        return g
    }
}

extension Report {
    /// The page: summary, each team, accountability, how the figures are computed.
    static func render(
        _ g: Gathered, teams: [Team], roster: Roster, policies: PolicySet, capacity: [ReadCommands.CapacityFigures],
        from: Date, to: Date, zone: TimeZone
    ) -> String {
        func day(_ d: Date) -> String { ISOTime.formatDate(d, in: zone) }
        func pct(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : String(format: "%.0f%%", Double(a) * 100 / Double(b)) }
        func days(_ d: Double?) -> String { d.map { String(format: "%.0f", $0) } ?? "-" }
        var page = Page(
            title: "Waiting lists and allocation: \(period(from, to, zone))",
            subtitle:
                "Adult social care teams, from duty's allocation log. Times in \(zone.identifier). Counts only: no person is named."
        )
        // Summary.
        var rows: [[String]] = []
        for team in teams {
            let months = g.months[team.id] ?? []
            let allocated = months.map(\.allocated).reduce(0, +)
            let within = months.map(\.within).reduce(0, +)
            let start = g.waitingAtStart[team.id] ?? 0
            let end = g.waitingAtEnd[team.id] ?? 0
            rows.append([
                team.name, String(start), String(end), (end >= start ? "+" : "") + String(end - start),
                days(months.last?.medianDays), days(months.last?.longestDays), pct(within, allocated),
            ])
        }
        // A log that begins inside the period (duty went live then): what the figures before it can say.
        var lateStart = ""
        if let begins = g.logStart, begins > from {
            lateStart = Page.paragraph(
                "duty's log begins on \(day(begins)), \(begins < to ? "inside this period" : "after this period ends"). Before then the figures count only the people whose referrals were still open when they reached duty (counted from the day the case system received them); referrals received and closed before then are not in the log, so those figures are a lower bound."
            )
        }
        page.add(
            "Summary",
            Page.paragraph(
                "People waiting at the start and end of the period in each team's queue, how long those waiting at the end had waited, and the share of allocations made within the team's timescale for the referral's level."
            )
                + Page.table(
                    [
                        "Team", "Waiting at start", "Waiting at end", "Change", "Median wait (days)",
                        "Longest wait (days)", "Allocated within timescale",
                    ],
                    rows, numeric: [1, 2, 3, 4, 5, 6])
                + lateStart)
        // Each team.
        let monthNames = Axis.monthRows(from: from, to: to, zone: zone).map(\.1)
        for team in teams {
            let perLevel = g.waiting[team.id] ?? [:]
            let series = policies.levelNames(forTeam: team).map { name in
                Series(
                    name: name,
                    points: zip(g.samples, perLevel[name] ?? Array(repeating: 0, count: g.samples.count)).map {
                        ($0, $1)
                    })
            }
            let chart = TimeChart(
                title: "\(team.name): people waiting, by level", series: series, from: from, to: to, zone: zone,
                valueLabel: "people waiting", marks: g.logStart.map { [($0, "duty's log begins")] } ?? [])
            let months = g.months[team.id] ?? []
            let monthRows = months.indices.map { i -> [String] in
                let m = months[i]
                return [
                    i < monthNames.count ? monthNames[i] : "", String(m.waitingEnd), days(m.medianDays),
                    days(m.longestDays),
                    String(m.allocated), pct(m.within, m.allocated),
                    "\(m.reviews) (\(pct(m.reviewsOnTime, m.reviews)) on time)",
                    String(m.reviewsOverdue),
                ]
            }
            var html = "<div class=\"team\">\n" + chart.svg() + "</div>\n"
            html += Page.table(
                [
                    "Month", "Waiting at month end", "Median wait (days)", "Longest wait (days)", "Allocated",
                    "Within timescale", "Reviews made", "Reviews overdue at month end",
                ],
                monthRows, numeric: [1, 2, 3, 4, 5, 6, 7])
            if let c = capacity.first(where: { $0.team == team.id }), c.days < 28 {
                // A few days and a case or two make a ratio that means nothing: say so instead.
                html += Page.paragraph(
                    "Demand against capacity: the period (\(Int(c.days.rounded())) days) is too short to say; a load ratio needs at least 4 weeks of arrivals and closed cases."
                )
            } else if let c = capacity.first(where: { $0.team == team.id }), c.loadRatio == nil {
                html += Page.paragraph(
                    "Demand against capacity: not enough history in the last \(Int((c.days / 7).rounded())) weeks of the period to say (no case allocated and closed in it)."
                )
            } else if let c = capacity.first(where: { $0.team == team.id }) {
                html += Page.paragraph(
                    "Demand against capacity over the last \(Int((c.days / 7).rounded())) weeks of the period: load ratio \(c.loadRatio.map { String(format: "%.2f", $0) } ?? "-") (above 1 the list grows whatever the order); "
                        + (c.workersNeeded.map {
                            $0 > 0
                                ? "about \($0) more worker\($0 == 1 ? "" : "s") of the team's average caseload to bring it under 0.85."
                                : "no more workers needed to keep it under 0.85."
                        } ?? "not enough history to say."))
            }
            page.add(team.name, html)
        }
        // Accountability.
        // By the referral's team, then the role of the person they went to (no names).
        var byRole: [[String]: Int] = [:]
        for (key, n) in g.escalations {
            let to =
                roster.workerByID[key.to].map { $0.role.replacingOccurrences(of: "_", with: " ") }
                ?? (key.to == "nobody present" ? key.to : "someone no longer in the roster")
            byRole[[roster.teamByID[key.team]?.name ?? key.team, to], default: 0] += n
        }
        let due = g.acknowledgedOnTime + g.acknowledgedLate + g.neverAcknowledged
        page.add(
            "Accountability",
            Page.table(
                ["Measure", "Figure"],
                [
                    [
                        "Allocations made with a fallback manager accountable (the team manager away)",
                        "\(pct(g.fallbacks, g.allocations)) of \(g.allocations)",
                    ],
                    [
                        "Top-rank allocations acknowledged within the policy's time",
                        "\(pct(g.acknowledgedOnTime, due)) of \(due) (\(g.acknowledgedLate) late, \(g.neverAcknowledged) never acknowledged)",
                    ],
                ], numeric: [])
                + Page.table(
                    ["Referral's team", "Escalations raised to", "Count"],
                    byRole.sorted {
                        $0.value != $1.value ? $0.value > $1.value : $0.key.lexicographicallyPrecedes($1.key)
                    }
                    .map { $0.key + [String($0.value)] },
                    numeric: [2]))
        page.add(
            "How each figure is computed",
            Page.paragraph(
                "Every figure is recomputed from duty's allocation log, which records each referral's arrival, rating, allocation, closure and every manager's action, hash-chained so it cannot be changed unnoticed ('duty verify')."
            )
                + Page.paragraph(
                    "Waiting: referrals received and neither allocated nor closed, counted at the end of each day in the council's time zone, by the level the triage policy gave them at the time. A referral waits from the time the case system received it, also when it reached duty later (a backlog loaded when duty went live): until its first rating it counts at that first level. Median and longest wait: how long those waiting at the end of a month had waited since the referral was received."
                )
                + Page.paragraph(
                    "Allocated within timescale: of the referrals allocated in a month, the share allocated by their due time (received plus the level's allocate_within, in calendar days, or an earlier date a rule sets, such as a DoLS authorisation's expiry)."
                )
                + Page.paragraph(
                    "Load ratio: points of work arriving per day times the mean days a case is held, over the caseload points of workers present (Little's law), as 'duty capacity' computes it."
                )
                + Page.paragraph(
                    "Fallback manager: the accountable manager named for an allocation was not the team manager, because they were recorded as away. Acknowledged on time: of the top-rank allocations made in the period that had to be acknowledged (the allocation policy's acknowledge), those acknowledged within its acknowledge_within of allocation; late and never acknowledged are those whose time ran out first (never: not acknowledged before the end of the period, or before the referral was reallocated, unassigned or closed); allocations still within their time at the end are not counted. Escalations: raised for unallocated or unacknowledged work, by the referral's team and the role of the person each went to, up the accountable chain. Reviews (waiting well): 'duty reviewed' entries for people still waiting; on time when made within the level's review_every of the last review (or of receipt); overdue at month end: people waiting whose review_every had run out with no review."
                ))
        return page.html()
    }
}

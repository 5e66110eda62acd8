import DutyCore
import DutyPolicy
import DutyReport
import DutySim
import Foundation

/// `duty simulate`: the discrete-event simulation over the real engine.
enum Simulate {
    static let command = CommandSpec(
        name: "simulate", summary: "simulate arrivals, allocation and completion with the real engine",
        positionals: [PositionalSpec(name: "SCENARIO", help: "a scenario file (see policies/scenarios/)")],
        options: [
            OptionSpec(long: "policies", value: "DIR", help: "policies to simulate (default: the scenario's)"),
            OptionSpec(long: "against", value: "DIR", help: "also run these policies on the same arrivals and compare"),
            OptionSpec(
                long: "baseline", value: "NAME",
                help: "also run what councils do now on the same arrivals and compare: fcfs, weekly, or fcfs,weekly"),
            OptionSpec(long: "days", value: "N", help: "how long to simulate (default: the scenario's)"),
            OptionSpec(long: "seed", value: "N", help: "random seed (default 1): the same seed gives the same run"),
            OptionSpec(
                long: "councils", value: "N", help: "councils side by side, added up (default: the scenario's, or 1)"),
            OptionSpec(long: "svg", value: "FILE", help: "write a chart of the waiting list over time"),
            OptionSpec(
                long: "report", value: "FILE",
                help: "write the year as duty report lays it out, with the baselines beside the policy"),
            OptionSpec(long: "format", value: "FORMAT", help: "table or json"),
        ],
        discussion: """
            A virtual clock runs through the period: referrals arrive as the scenario says, a cycle runs at each
            cycle interval on working days (the real engine: triage, allocation, oversight), allocated work occupies
            its worker for the scenario's work days, and staff take leave and fall sick. Software does not create
            capacity: with too few workers, waits grow, but the highest risk is seen first and nobody is forgotten.
            --baseline runs first come, first served (fcfs: every cycle, in the order received) or a weekly
            allocation meeting (weekly: one cycle a week, in the order received) on the same arrivals, absences and
            staff, and compares. With several councils (--councils, or 'councils' in the scenario) each runs on its own copy of the
            roster with its own arrivals and absences, in parallel on every core, and the report adds them up.
            """,
        examples: [
            "duty simulate policies/scenarios/banes-2023-24.json5",
            "duty simulate policies/scenarios/banes-2023-24.json5 --against ./candidate --seed 7",
            "duty simulate policies/scenarios/banes-2023-24.json5 --baseline fcfs,weekly",
            "duty simulate policies/scenarios/england-2023-24.json5",
        ],
        run: { inv throws(DutyError) in try run(inv) })

    static func run(_ inv: Invocation) throws(DutyError) -> Int32 {
        let format = try inv.format(["table", "json"])
        guard let seed = UInt64(inv.value("seed") ?? "1") else {
            throw DutyError(.usage, "--seed needs a whole number", cause: "simulate")
        }
        var days: Int?
        if let d = inv.value("days") {
            guard let n = Int(d), (1...3_650).contains(n) else {
                throw DutyError(.usage, "--days takes 1 to 3650", cause: "simulate")
            }
            days = n
        }
        var councils: Int?
        if let c = inv.value("councils") {
            guard let n = Int(c), (1...1_000).contains(n) else {
                throw DutyError(.usage, "--councils takes 1 to 1000", cause: "simulate")
            }
            councils = n
        }
        let scenario = try Scenario.load(
            path: inv.positionals[0], policiesOverride: inv.value("policies"), days: days, councils: councils)
        var baselines: [Baseline] = []
        for name in (inv.value("baseline") ?? "").split(separator: ",") {
            guard let b = Baseline(rawValue: String(name)) else {
                throw DutyError(.usage, "--baseline takes fcfs, weekly, or both as fcfs,weekly", cause: "simulate")
            }
            if !baselines.contains(b) { baselines.append(b) }
        }
        let simulator = try Simulator(scenario: scenario, seed: seed)
        let report = simulator.runCouncils()
        var others: [SimReport] = []
        if let against = inv.value("against") {
            let alt = try Scenario.load(
                path: inv.positionals[0], policiesOverride: against, days: days, councils: councils)
            others.append(try Simulator(scenario: alt, seed: seed).runCouncils())
        }
        for b in baselines {
            var alt = scenario
            alt.baseline = b
            others.append(try Simulator(scenario: alt, seed: seed).runCouncils())
        }
        if let svg = inv.value("svg") {
            let councils = report.councils > 1 ? ", \(report.councils) councils" : ""
            let title =
                "Waiting list by level: \(URL(fileURLWithPath: scenario.file).lastPathComponent), seed \(seed)\(councils)"
            try OutputFile.write(
                chartPanels(
                    report, title: title, scenario: scenario, policies: simulator.policies, roster: simulator.roster),
                to: svg)
        }
        if let path = inv.value("report") {
            try OutputFile.write(
                page(
                    report, baselines: others.filter { $0.baseline != nil }, scenario: scenario, seed: seed,
                    policies: simulator.policies, roster: simulator.roster),
                to: path)
        }
        if format == "json" {
            inv.console.out(json(report).serialized())
            for other in others { inv.console.out(json(other).serialized()) }
            return 0
        }
        print(report, inv)
        for other in others {
            inv.console.out("")
            inv.console.out("against \(name(other)):")
            print(other, inv)
            inv.console.out("")
            compare(report, other, inv)
        }
        if !baselines.isEmpty {
            inv.console.out("")
            topLevels([report] + others, inv)
        }
        return 0
    }

    static func groupJSON(_ g: SimReport.Group) -> JSONValue {
        func d(_ v: Double?) -> JSONValue { v.map { .number(($0 * 10).rounded() / 10) } ?? .null }
        return .object([
            ("key", .string(g.key)), ("arrivals", .int(Int64(g.arrivals))), ("allocated", .int(Int64(g.allocated))),
            ("median_wait_days", d(g.percentile(0.5))), ("p90_wait_days", d(g.percentile(0.9))),
            ("max_wait_days", d(g.waits.max())),
            (
                "within_timescale_pct",
                g.allocated == 0 ? .null : d(100 * Double(g.withinTimescale) / Double(g.allocated))
            ),
            ("peak_waiting", .int(Int64(g.peakWaiting))), ("final_waiting", .int(Int64(g.finalWaiting))),
            (
                "reviews_on_time_pct",
                g.reviewsDue == 0 ? .null : d(100 * Double(g.reviewsOnTime) / Double(g.reviewsDue))
            ),
            ("fallback_pct", g.allocated == 0 ? .null : d(100 * Double(g.fallbacks) / Double(g.allocated))),
            ("max_age_waiting_days", d(g.maxAgeWaiting)), ("median_age_waiting_days", d(g.medianAgeWaiting)),
            ("backlog", .int(Int64(g.backlog))), ("target_days", d(g.targetDays)),
            (
                "within_target_pct",
                g.targetDays == nil || g.allocated == 0 ? .null : d(100 * Double(g.withinTarget) / Double(g.allocated))
            ),
        ])
    }

    static func teamJSON(_ t: SimReport.TeamResult) -> JSONValue {
        .object([
            ("team", .string(t.team)), ("capacity_points", .number(t.capacityPoints)),
            ("load_ratio", t.loadRatio.map { .number(($0 * 100).rounded() / 100) } ?? .null),
            ("utilisation_pct", t.utilisationPct.map { .number(($0 * 10).rounded() / 10) } ?? .null),
        ])
    }

    static func kindLevelJSON(_ g: SimReport.KindLevel) -> JSONValue {
        func d(_ v: Double?) -> JSONValue { v.map { .number(($0 * 10).rounded() / 10) } ?? .null }
        return .object([
            ("kind", .string(g.kind)), ("level", .string(g.level)), ("rank", .int(Int64(g.rank))),
            ("arrivals", .int(Int64(g.arrivals))), ("allocated", .int(Int64(g.allocated))),
            ("within_timescale_pct", d(g.withinTimescalePct)), ("median_wait_days", d(g.percentile(0.5))),
            ("p90_wait_days", d(g.percentile(0.9))), ("max_wait_days", d(g.waits.max())),
            ("late_waiting", .int(Int64(g.lateWaiting))), ("max_age_waiting_days", d(g.maxAgeWaiting)),
        ])
    }

    /// What a run is called in comparisons: its baseline, else its policies folder.
    static func name(_ r: SimReport) -> String { r.baseline.map { "baseline \($0.rawValue)" } ?? r.policies }

    static func json(_ r: SimReport) -> JSONValue {
        .object([
            ("scenario", .string(r.scenario)), ("policies", .string(r.policies)), ("seed", .int(Int64(r.seed))),
            ("councils", .int(Int64(r.councils))),
            ("days", .int(Int64(r.days))), ("cycles", .int(Int64(r.cycles))), ("arrivals", .int(Int64(r.arrivals))),
            ("closed", .int(Int64(r.closedAtEnd))), ("allocated_open", .int(Int64(r.openAllocatedAtEnd))),
            ("waiting", .int(Int64(r.waitingAtEnd))), ("backlog", .int(Int64(r.backlog))),
            ("acknowledged", .int(Int64(r.acknowledged))), ("teams", .array(r.teams.map(teamJSON))),
            ("by_kind", .array(r.byKind.map(groupJSON))),
            ("by_level", .array(r.byLevel.map(groupJSON))), ("by_kind_level", .array(r.byKindLevel.map(kindLevelJSON))),
            ("baseline", .string(r.baseline?.rawValue)),
            ("longest_wait_days", r.longestWait.map { .number(($0 * 10).rounded() / 10) } ?? .null),
            ("escalations", .object(r.escalations.map { ($0.0, .int(Int64($0.1))) })),
            (
                "sends",
                .object([
                    ("manager_median_per_day", .number(r.sends.managerMedian)),
                    ("manager_max_per_day", .int(Int64(r.sends.managerMax))),
                    ("head_of_service_median_per_day", .number(r.sends.headOfServiceMedian)),
                    ("to_nobody", .int(Int64(r.sends.toNobody))),
                    (
                        "by_recipient",
                        .array(
                            r.sends.recipients.map {
                                .object([
                                    ("recipient", .string($0.id)), ("role", .string($0.role)),
                                    ("total", .int(Int64($0.total))), ("median_per_day", .number($0.median)),
                                    ("max_per_day", .int(Int64($0.max))),
                                ])
                            })
                    ),
                ])
            ),
            ("seconds", .number((r.seconds * 1000).rounded() / 1000)),
        ])
    }

    static func table(_ groups: [SimReport.Group], title: String, _ inv: Invocation) {
        var t = TextTable([
            title, "ARRIVED", "ALLOCATED", "MEDIAN WAIT", "P90 WAIT", "MAX WAIT", "WITHIN %", "PEAK WAITING",
            "WAITING AT END", "FALLBACK %",
        ])
        t.rightAligned = Set(1...9)
        func d(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "-" }
        for g in groups {
            t.add([
                g.key, g.arrivals == 0 && title == "LEVEL" ? "-" : String(g.arrivals), String(g.allocated),
                d(g.percentile(0.5)),
                d(g.percentile(0.9)), d(g.waits.max()),
                g.allocated == 0 ? "-" : d(100 * Double(g.withinTimescale) / Double(g.allocated)),
                String(g.peakWaiting), String(g.finalWaiting),
                g.allocated == 0 ? "-" : d(100 * Double(g.fallbacks) / Double(g.allocated)),
            ])
        }
        for line in t.render(width: inv.console.width) { inv.console.out(line) }
    }

    static func print(_ r: SimReport, _ inv: Invocation) {
        inv.console.out(
            (r.councils > 1 ? "\(r.councils) councils, " : "")
                + "\(r.days) days, \(r.cycles) cycles, seed \(r.seed), policies \(r.policies): "
                + (r.backlog > 0 ? "\(r.backlog) waiting at the start, " : "")
                + "\(r.arrivals) arrived, \(r.closedAtEnd) done, \(r.openAllocatedAtEnd) in hand, \(r.waitingAtEnd) waiting at the end (waits in days)"
        )
        table(r.byKind, title: "KIND", inv)
        inv.console.out("")
        table(r.byLevel, title: "LEVEL", inv)
        inv.console.out("")
        var t = TextTable([
            "KIND", "LEVEL AT REFERRAL", "ARRIVED", "ALLOCATED", "WITHIN %", "MEDIAN WAIT", "P90 WAIT", "MAX WAIT",
            "LATE, WAITING",
        ])
        t.rightAligned = Set(2...8)
        func d(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "-" }
        for g in r.byKindLevel {
            t.add([
                g.kind, g.level, String(g.arrivals), String(g.allocated), d(g.withinTimescalePct), d(g.percentile(0.5)),
                d(g.percentile(0.9)), d(g.waits.max()), String(g.lateWaiting),
            ])
        }
        for line in t.render(width: inv.console.width) { inv.console.out(line) }
        inv.console.out("longest wait: \(d(r.longestWait)) days (allocated, or still waiting at the end)")
        inv.console.out("")
        var w = TextTable(["KIND", "WAITING AT START", "WAITING AT END", "MEDIAN AGE", "OLDEST", "WITHIN TARGET %"])
        w.rightAligned = Set(1...5)
        for g in r.byKind {
            let target = g.targetDays.map {
                g.allocated == 0 ? "-" : d(100 * Double(g.withinTarget) / Double(g.allocated)) + " (\(Int($0))d)"
            }
            w.add([
                g.key, String(g.backlog), String(g.finalWaiting), d(g.medianAgeWaiting), d(g.maxAgeWaiting),
                target ?? "-",
            ])
        }
        for line in w.render(width: inv.console.width) { inv.console.out(line) }
        inv.console.out("")
        var teams = TextTable(["TEAM", "CAPACITY (POINTS)", "LOAD RATIO", "UTILISATION %"])
        teams.rightAligned = Set(1...3)
        for team in r.teams {
            teams.add([
                team.team, d(team.capacityPoints), team.loadRatio.map { String(format: "%.2f", $0) } ?? "-",
                d(team.utilisationPct),
            ])
        }
        for line in teams.render(width: inv.console.width) { inv.console.out(line) }
        inv.console.out("load ratio: points x work days arriving / capacity x days; above 1 only staff can catch up")
        let reviews = r.byKind.reduce((0, 0)) { ($0.0 + $1.reviewsDue, $0.1 + $1.reviewsOnTime) }
        inv.console.out("")
        inv.console.out(
            "acknowledged: \(r.acknowledged); reviews: \(reviews.0) due, \(reviews.0 == 0 ? "-" : String(format: "%.1f", 100 * Double(reviews.1) / Double(reviews.0)))% on time; escalations: "
                + (r.escalations.isEmpty ? "none" : r.escalations.map { "\($0.0) \($0.1)" }.joined(separator: ", ")))
        inv.console.out(
            String(
                format:
                    "messages sent (one per person per cycle, grouped): managers' median %.1f a working day, at most %d on any day; head of service median %.1f",
                r.sends.managerMedian, r.sends.managerMax, r.sends.headOfServiceMedian))
        inv.console.out(String(format: "simulated in %.2f s", r.seconds))
    }

    static func compare(_ a: SimReport, _ b: SimReport, _ inv: Invocation) {
        var t = TextTable(["KIND", "MEDIAN WAIT", "", "WITHIN %", "", "WAITING AT END", ""])
        t.rightAligned = Set(1...6)
        func d(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "-" }
        func pct(_ g: SimReport.Group) -> Double? {
            g.allocated == 0 ? nil : 100 * Double(g.withinTimescale) / Double(g.allocated)
        }
        for ga in a.byKind {
            guard let gb = b.byKind.first(where: { $0.key == ga.key }) else { continue }
            t.add([
                ga.key, d(ga.percentile(0.5)), "-> " + d(gb.percentile(0.5)), d(pct(ga)), "-> " + d(pct(gb)),
                String(ga.finalWaiting),
                "-> " + String(gb.finalWaiting),
            ])
        }
        inv.console.out("differences (\(name(a)) -> \(name(b))), same arrivals and seed:")
        for line in t.render(width: inv.console.width) { inv.console.out(line) }
    }

    /// Each kind's top level at referral side by side: % within timescale and median wait, for every run.
    static func topLevels(_ runs: [SimReport], _ inv: Invocation) {
        var t = TextTable(["KIND", "TOP LEVEL"] + runs.flatMap { ["WITHIN % " + short($0), "MEDIAN " + short($0)] })
        t.rightAligned = Set(2..<(2 + 2 * runs.count))
        func d(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "-" }
        for top in runs[0].byKindLevel
        where !runs[0].byKindLevel.contains(where: { $0.kind == top.kind && $0.rank > top.rank }) {
            var row = [top.kind, top.level]
            for r in runs {
                let g = r.byKindLevel.first { $0.kind == top.kind && $0.level == top.level }
                row += [d(g?.withinTimescalePct), d(g?.percentile(0.5))]
            }
            t.add(row)
        }
        t.add(["longest wait", ""] + runs.flatMap { [d($0.longestWait), ""] })
        inv.console.out("top level at referral, same arrivals and seed (waits in days):")
        for line in t.render(width: inv.console.width) { inv.console.out(line) }
    }

    static func short(_ r: SimReport) -> String { r.baseline?.rawValue ?? "duty" }
}

extension Simulate {
    /// The waiting list over the simulated year as the report draws it: one panel per team with its own levels
    /// (not one axis adding up four services' reds), months on the time axis, round ticks, printable in grey.
    static func chartPanels(
        _ report: SimReport, title: String, scenario: Scenario, policies: PolicySet, roster: Roster
    ) -> String {
        let panels = teamCharts(report, scenario: scenario, policies: policies, roster: roster).map(\.svg)
        let height = 40 + panels.count * 230
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="680" height="\(height)" viewBox="0 0 680 \(height)" font-family="sans-serif" font-size="10">
            <rect width="100%" height="100%" fill="white"/>
            <text x="10" y="24" font-size="14" font-weight="bold">\(Page.escape(title))</text>

            """
        for (i, panel) in panels.enumerated() {
            out += panel.replacingOccurrences(
                of: "<svg ", with: "<svg x=\"0\" y=\"\(40 + i * 230)\" ", options: .anchored)
        }
        return out + "</svg>\n"
    }

    /// Each team with work waiting, and its chart: its own levels, highest rank first.
    static func teamCharts(_ report: SimReport, scenario: Scenario, policies: PolicySet, roster: Roster) -> [(
        team: Team, svg: String
    )] {
        let zone = TimeZone(identifier: "Europe/London")!
        let from = scenario.start
        let to = scenario.start.addingTimeInterval(Double(scenario.days) * 86_400)
        var panels: [(team: Team, svg: String)] = []
        for team in roster.teams {
            let series = policies.levelNames(forTeam: team).map { level in
                Series(
                    name: level,
                    points: report.kindLevelSeries.map { day, counts in
                        (
                            scenario.start.addingTimeInterval(Double(day) * 86_400),
                            Double(team.kinds.reduce(0) { $0 + (counts[$1 + "\t" + level] ?? 0) })
                        )
                    })
            }
            guard series.contains(where: { $0.points.contains { $0.1 > 0 } }) else { continue }
            panels.append(
                (
                    team,
                    TimeChart(
                        title: "\(team.name): people waiting, by level", series: series, from: from, to: to,
                        zone: zone, valueLabel: "people waiting"
                    ).svg(width: 680, height: 220)
                ))
        }
        return panels
    }
}

extension Simulate {
    /// The simulated year as `duty report` lays it out: a summary per kind with each baseline beside duty's
    /// policy, a chart per team, and how the figures are computed. Counts only.
    static func page(
        _ report: SimReport, baselines: [SimReport], scenario: Scenario, seed: UInt64, policies: PolicySet,
        roster: Roster
    ) -> String {
        func pct(_ g: SimReport.Group?) -> String {
            guard let g, g.allocated > 0 else { return "-" }
            return String(format: "%.0f%%", 100 * Double(g.withinTimescale) / Double(g.allocated))
        }
        func days(_ d: Double?) -> String { d.map { String(format: "%.0f", $0) } ?? "-" }
        let name = URL(fileURLWithPath: scenario.file).lastPathComponent
        var page = Page(
            title: "A simulated year: \(name)",
            subtitle:
                "\(scenario.days) days from \(ISOTime.formatDate(scenario.start, in: TimeZone(identifier: "Europe/London")!)), seed \(seed), duty's engine with the scenario's policies\(baselines.isEmpty ? "" : ", and the same arrivals and staff worked by " + baselines.compactMap { $0.baseline?.rawValue }.joined(separator: " and "))."
        )
        var headers = [
            "Kind", "Waiting at start", "Waiting at end", "Median wait at end (days)", "Within timescale (duty)",
        ]
        headers += baselines.compactMap { $0.baseline.map { "Within timescale (\($0.rawValue))" } }
        let rows = report.byKind.map { g -> [String] in
            [g.key, String(g.backlog), String(g.finalWaiting), days(g.medianAgeWaiting), pct(g)]
                + baselines.map { b in pct(b.byKind.first { $0.key == g.key }) }
        }
        page.add(
            "Summary",
            Page.paragraph(
                "For each kind of work: people waiting at the start (the scenario's backlog) and at the end, how long those left waiting had waited, and the share of allocations made within the timescale of the level each referral had when it arrived, under duty's policy and under each baseline."
            )
                + Page.table(headers, rows, numeric: Set(1..<headers.count)))
        for (team, svg) in teamCharts(report, scenario: scenario, policies: policies, roster: roster) {
            let load = report.teams.first { $0.team == team.id }
            page.add(
                team.name,
                "<div class=\"team\">\n" + svg + "</div>\n"
                    + Page.paragraph(
                        "Load ratio over the run: \(load?.loadRatio.map { String(format: "%.2f", $0) } ?? "-") (above 1 the list grows whatever the order); caseload points used on average: \(load?.utilisationPct.map { String(format: "%.0f%%", $0) } ?? "-")."
                    ))
        }
        page.add(
            "How each figure is computed",
            Page.paragraph(
                "The simulator drives duty's real engine with a virtual clock: referrals arrive as the scenario says, are rated by the policies, allocated by capacity, skills and continuity, and worked for their durations; staff take leave and fall sick. Waiting is counted each day by the level each referral has then. The baselines work the same arrivals with the same staff: fcfs allocates in the order received every day, weekly meets once a week and allocates in order received."
            )
                + Page.paragraph(
                    "Within timescale: of the referrals allocated, the share allocated by the due time of the level they had when they arrived. Load ratio: the points of work arriving times the days each is worked, over the points the team can hold for the days run."
                ))
        return page.html()
    }
}

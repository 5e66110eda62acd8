import DutyCore
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
            OptionSpec(long: "days", value: "N", help: "how long to simulate (default: the scenario's)"),
            OptionSpec(long: "seed", value: "N", help: "random seed (default 1): the same seed gives the same run"),
            OptionSpec(
                long: "councils", value: "N", help: "councils side by side, added up (default: the scenario's, or 1)"),
            OptionSpec(long: "svg", value: "FILE", help: "write a chart of the waiting list over time"),
            OptionSpec(long: "format", value: "FORMAT", help: "table or json"),
        ],
        discussion: """
            A virtual clock runs through the period: referrals arrive as the scenario says, a cycle runs at each
            cycle interval on working days (the real engine: triage, allocation, oversight), allocated work occupies
            its worker for the scenario's work days, and staff take leave and fall sick. Software does not create
            capacity: with too few workers, waits grow, but the highest risk is seen first and nobody is forgotten.
            With several councils (--councils, or 'councils' in the scenario) each runs on its own copy of the
            roster with its own arrivals and absences, in parallel on every core, and the report adds them up.
            """,
        examples: [
            "duty simulate policies/scenarios/banes-2023-24.json5",
            "duty simulate policies/scenarios/banes-2023-24.json5 --against ./candidate --seed 7",
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
        let report = try Simulator(scenario: scenario, seed: seed).runCouncils()
        var other: SimReport?
        if let against = inv.value("against") {
            let alt = try Scenario.load(
                path: inv.positionals[0], policiesOverride: against, days: days, councils: councils)
            other = try Simulator(scenario: alt, seed: seed).runCouncils()
        }
        if let svg = inv.value("svg") {
            let councils = report.councils > 1 ? ", \(report.councils) councils" : ""
            let title =
                "Waiting list by level: \(URL(fileURLWithPath: scenario.file).lastPathComponent), seed \(seed)\(councils)"
            do {
                try Chart.svg(report, title: title).write(toFile: svg, atomically: true, encoding: .utf8)
            } catch {
                throw DutyError(.failure, "cannot write \(svg)", cause: "\(error)")
            }
        }
        if format == "json" {
            inv.console.out(json(report).serialized())
            if let other { inv.console.out(json(other).serialized()) }
            return 0
        }
        print(report, inv)
        if let other {
            inv.console.out("")
            inv.console.out("against \(other.policies):")
            print(other, inv)
            inv.console.out("")
            compare(report, other, inv)
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
        ])
    }

    static func json(_ r: SimReport) -> JSONValue {
        .object([
            ("scenario", .string(r.scenario)), ("policies", .string(r.policies)), ("seed", .int(Int64(r.seed))),
            ("councils", .int(Int64(r.councils))),
            ("days", .int(Int64(r.days))), ("cycles", .int(Int64(r.cycles))), ("arrivals", .int(Int64(r.arrivals))),
            ("closed", .int(Int64(r.closedAtEnd))), ("allocated_open", .int(Int64(r.openAllocatedAtEnd))),
            ("waiting", .int(Int64(r.waitingAtEnd))), ("by_kind", .array(r.byKind.map(groupJSON))),
            ("by_level", .array(r.byLevel.map(groupJSON))),
            ("escalations", .object(r.escalations.map { ($0.0, .int(Int64($0.1))) })),
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
                + "\(r.days) days, \(r.cycles) cycles, seed \(r.seed), policies \(r.policies): \(r.arrivals) arrived, \(r.closedAtEnd) done, \(r.openAllocatedAtEnd) in hand, \(r.waitingAtEnd) waiting at the end (waits in days)"
        )
        table(r.byKind, title: "KIND", inv)
        inv.console.out("")
        table(r.byLevel, title: "LEVEL", inv)
        let reviews = r.byKind.reduce((0, 0)) { ($0.0 + $1.reviewsDue, $0.1 + $1.reviewsOnTime) }
        inv.console.out("")
        inv.console.out(
            "reviews: \(reviews.0) due, \(reviews.0 == 0 ? "-" : String(format: "%.1f", 100 * Double(reviews.1) / Double(reviews.0)))% on time; escalations: "
                + (r.escalations.isEmpty ? "none" : r.escalations.map { "\($0.0) \($0.1)" }.joined(separator: ", ")))
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
        inv.console.out("differences (\(a.policies) -> \(b.policies)), same arrivals and seed:")
        for line in t.render(width: inv.console.width) { inv.console.out(line) }
    }
}

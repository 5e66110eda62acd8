import DutyCore
import DutyReport
import DutySim
import Foundation
import Synchronization
import Testing

@testable import DutyCLI

#if canImport(FoundationXML)
    import FoundationXML
#endif

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Runs `duty` in-process with captured output.
struct Run {
    var code: Int32
    var out: String
    var err: String

    init(_ args: [String], environment: [String: String] = [:], width: Int? = nil, terminal: Bool = false) {
        let out = Mutex("")
        let err = Mutex("")
        let console = Console(
            writeOut: { s in out.withLock { $0 += s } }, writeErr: { s in err.withLock { $0 += s } },
            isTerminal: terminal, width: width, environment: environment,
            now: { ISOTime.parse("2024-09-10T09:30:00Z", timeZone: TimeZone(identifier: "UTC")!)! })
        code = DutyCLI.main(args, console: console)
        self.out = out.withLock { $0 }
        self.err = err.withLock { $0 }
    }
}

let policies = repositoryRoot + "/policies"
let roster = repositoryRoot + "/systemd/roster.json5"

func tempFile(_ name: String, _ text: String) throws -> String {
    let dir = NSTemporaryDirectory() + "duty-cli-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite struct HelpTests {
    @Test func version() {
        let r = Run(["--version"])
        #expect(r.code == 0 && r.out == "duty \(DutyVersion.string)\n" && r.err.isEmpty)
    }

    @Test func topLevelHelp() {
        for args in [["help"], ["--help"], ["-h"]] {
            let r = Run(args)
            #expect(r.code == 0 && r.err.isEmpty)
            #expect(
                r.out == """
                    duty: risk-prioritised work allocation for adult social care teams

                    usage: duty [--config PATH] COMMAND [ARGS...]

                    commands:
                      policy check    validate policies and the roster; every diagnostic with its position
                      policy explain  level, due time and every matching rule for the referrals in a file
                      policy diff     re-triage the waiting list under candidate policies: level changes, order, counts
                      simulate        simulate arrivals, allocation and completion with the real engine
                      status          is dutyd running; its last cycle; what waits, by level
                      waiting         the waiting list in allocation order
                      show            a referral: facts, rating with every matching rule, state, manager, timeline
                      why             the allocation decision: every candidate with score parts or what excluded it
                      log             events of the allocation log
                      stats           per queue: waiting, median and max days, allocated, % within timescale, overdue
                      capacity        per team: demand against capacity (load ratio), and the workers it would take
                      caseload        workers: load, capacity, open allocations, absent now
                      inbox           what waits for you: acknowledgements, escalations, reviews due
                      verify          check the allocation log's hash chain
                      report          an HTML performance report for a board, a scrutiny panel or CQC
                      export          referrals with their timestamps, for BI tools
                      assign          allocate a referral to a worker, overriding the engine
                      unassign        take a referral back from its worker: it waits again
                      rerate          pin a referral's level (or --clear the pin)
                      ack             acknowledge a top-rank allocation you are accountable for
                      reviewed        record that a waiting referral was reviewed (contacted, re-screened)
                      absence add     record an absence (a manager of the worker's chain, or the worker)
                      absence end     end an absence now
                      absence list    absences current and to come
                      cycle           run a cycle now (managers, root, dutyd's user)
                      reload          re-read config, roster and policies (all valid or none applied)
                      help            help for a command (duty help policy explain)

                    global options:
                      --config PATH  config file (default: $DUTY_CONFIG, else /etc/duty/dutyd.conf)
                      -h, --help     show help
                      --version      print the version

                    exit codes: 0 success, 1 failure, 64 usage error, 65 invalid data, 66 not found,
                      69 daemon unavailable, 77 permission denied

                    See 'duty help COMMAND' for a command's options.

                    """)
        }
    }

    @Test func commandHelpEverywhere() {
        let viaHelp = Run(["help", "policy", "check"])
        let viaFlag = Run(["policy", "check", "--help"])
        let viaShort = Run(["policy", "check", "-h", "--policies", "x"])
        #expect(viaHelp.code == 0 && viaHelp.out == viaFlag.out && viaFlag.out == viaShort.out)
        #expect(
            viaHelp.out == """
                duty policy check: validate policies and the roster; every diagnostic with its position

                usage: duty policy check [--policies DIR] [--roster FILE] [--sample FILE] [--format FORMAT]

                Reads triage/*.json5 and allocation.json5 in the policies folder and reports every problem at once as
                FILE:LINE:COL: message. With a roster, also checks that exactly one triage policy applies to each
                kind a team handles. Exits 0 when valid (warnings allowed), 65 when there are errors.

                options:
                  --policies DIR   policies folder (default: the config's 'policies')
                  --roster FILE    roster file (default: the config's 'roster')
                  --sample FILE    referrals file: warn about facts rules use that no referral carries
                  --format FORMAT  text or json (diagnostics as JSON lines)
                  --config PATH    config file (default: $DUTY_CONFIG, else /etc/duty/dutyd.conf)
                  -h, --help       show help

                examples:
                  duty policy check
                  duty policy check --policies ./candidate --roster /etc/duty/roster.json5

                """)
        let group = Run(["help", "policy"])
        #expect(group.code == 0 && group.out.contains("  check    validate policies"))
    }
}

@Suite struct UsageErrorTests {
    @Test(arguments: [
        (
            ["frobnicate"],
            "duty: unknown command 'frobnicate'\nusage: duty [--config PATH] COMMAND [ARGS...]\nSee 'duty help'.\n"
        ),
        (
            ["polcy", "check"],
            "duty: unknown command 'polcy'; did you mean 'policy'?\nusage: duty [--config PATH] COMMAND [ARGS...]\nSee 'duty help'.\n"
        ),
        ([], "duty: missing command\nusage: duty [--config PATH] COMMAND [ARGS...]\nSee 'duty help'.\n"),
        (
            ["policy"],
            "duty: missing subcommand for 'policy'\nusage: duty policy SUBCOMMAND [ARGS...]\nSee 'duty help policy'.\n"
        ),
        (
            ["policy", "chek"],
            "duty: unknown subcommand 'chek' for 'policy'; did you mean 'policy check'?\nusage: duty policy SUBCOMMAND [ARGS...]\nSee 'duty help policy'.\n"
        ),
        (
            ["policy", "check", "--polices", "x"],
            "duty: unknown option '--polices'; did you mean '--policies'?\nusage: duty policy check [--policies DIR] [--roster FILE] [--sample FILE] [--format FORMAT]\nSee 'duty help policy check'.\n"
        ),
        (
            ["policy", "check", "--policies"],
            "duty: option '--policies' needs a value (DIR)\nusage: duty policy check [--policies DIR] [--roster FILE] [--sample FILE] [--format FORMAT]\nSee 'duty help policy check'.\n"
        ),
        (
            ["policy", "explain"],
            "duty: missing argument FILE\nusage: duty policy explain FILE [--policies DIR] [--roster FILE] [--at TIME] [--format FORMAT]\nSee 'duty help policy explain'.\n"
        ),
        (
            ["policy", "explain", "a.json", "b.json"],
            "duty: unexpected argument 'b.json'\nusage: duty policy explain FILE [--policies DIR] [--roster FILE] [--at TIME] [--format FORMAT]\nSee 'duty help policy explain'.\n"
        ),
        (
            ["policy", "explain", "a.json", "--format", "xml", "--policies", "p"],
            "duty: invalid format 'xml': use table or json\nusage: duty policy explain FILE [--policies DIR] [--roster FILE] [--at TIME] [--format FORMAT]\nSee 'duty help policy explain'.\n"
        ),
        (
            ["policy", "check", "--format=json", "--format=text"],
            "duty: option '--format' given twice\nusage: duty policy check [--policies DIR] [--roster FILE] [--sample FILE] [--format FORMAT]\nSee 'duty help policy check'.\n"
        ),
        (["help", "nope"], "duty: no such command 'nope'\nusage: duty help [COMMAND]\nSee 'duty help help'.\n"),
    ])
    func exit64WithUsage(args: [String], stderr: String) {
        let r = Run(args)
        #expect(r.code == 64)
        #expect(r.out.isEmpty)
        #expect(r.err == stderr)
    }

    @Test func badTimeIsAUsageError() throws {
        let file = try tempFile("r.json", #"{"id":"a","person":"p","kind":"dols","received":"2024-09-01"}"#)
        let r = Run(["policy", "explain", file, "--policies", policies, "--at", "last tuesday"])
        #expect(r.code == 64)
        #expect(r.err.hasPrefix("duty: invalid time 'last tuesday': use an ISO date or date-time"))
    }
}

@Suite struct PolicyCommandTests {
    @Test func checkPassesOnTheShippedSet() {
        let r = Run(["policy", "check", "--policies", policies, "--roster", roster])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.hasPrefix("ok: 6 triage policies ("))
        #expect(r.out.contains("every kind has exactly one policy"))
        #expect(r.err.isEmpty)
    }

    @Test func checkUsesTheConfig() throws {
        let config = try tempFile(
            "dutyd.conf", "{ state_dir: 's', spool_dir: 'p', policies: '\(policies)', roster: '\(roster)' }")
        let r = Run(["--config", config, "policy", "check"])
        #expect(r.code == 0 && r.out.contains("49 workers in 6 teams"))
        let viaEnv = Run(["policy", "check"], environment: ["DUTY_CONFIG": config])
        #expect(viaEnv.code == 0 && viaEnv.out == r.out)
    }

    @Test func missingConfigIsNotFound() {
        let r = Run(["--config", "/nonexistent/dutyd.conf", "policy", "check"])
        #expect(r.code == 66)
        #expect(r.err == "duty: config file '/nonexistent/dutyd.conf' not found\n")
    }

    @Test func checkReportsEveryErrorAndExits65() throws {
        let dir = NSTemporaryDirectory() + "duty-cli-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: policies, toPath: dir)
        let dols = dir + "/triage/dols-adass.json5"
        var text = try String(contentsOfFile: dols, encoding: .utf8)
        text = text.replacingOccurrences(of: "when: \"'objection' in flags\"", with: "when: \"('objection' in flags\"")
        text = text.replacingOccurrences(
            of: "when: \"'covert_medication' in flags\"", with: "when: \"'covert_medication' in flag\"")
        try text.write(toFile: dols, atomically: true, encoding: .utf8)
        let r = Run(["policy", "check", "--policies", dir, "--roster", roster])
        #expect(r.code == 65)
        #expect(
            r.err == """
                \(dols):34:65: expected ')' after 'flags'
                \(dols):48:67: unknown name 'flag'; did you mean 'flags'?
                duty: policy check failed: 2 errors, 0 warnings

                """)
        let json = Run(["policy", "check", "--policies", dir, "--roster", roster, "--format", "json"])
        #expect(json.code == 65)
        #expect(
            json.out.split(separator: "\n").first
                == #"{"file":"\#(dols)","line":34,"column":65,"key":null,"severity":"error","message":"expected ')' after 'flags'"}"#
        )
    }

    @Test func sampleWarnsAboutFactsNoReferralCarries() throws {
        let sample = try tempFile(
            "sample.jsonl",
            #"{"id":"a","person":"p","kind":"dols","received":"2024-09-01","facts":{"age":90,"authorisation_expires":"2024-10-01","urgent_granted":"2024-08-30"}}"#
        )
        let r = Run(["policy", "check", "--policies", policies, "--roster", roster, "--sample", sample])
        #expect(r.code == 0)
        #expect(r.err.contains("warning: rule uses facts.concerns_12m, which no referral in \(sample) carries"))
        #expect(!r.err.contains("facts.authorisation_expires,") && !r.err.contains("facts.urgent_granted,"))
        #expect(!r.err.contains("facts.age,"))
    }

    static let referrals = """
        {"id":"DOLS-1","person":"P-1001","kind":"dols","received":"2024-09-01","flags":["objection","restraint_regular"]}
        {"id":"OT-7","person":"P-1002","kind":"ot","received":"2024-06-01T08:00:00Z","complexity":1}
        """

    @Test func explainJSONShape() throws {
        let file = try tempFile("r.jsonl", Self.referrals)
        let r = Run([
            "policy", "explain", file, "--policies", policies, "--roster", roster, "--at", "2024-09-10T09:30:00Z",
            "--format", "json",
        ])
        #expect(r.code == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                #"{"id":"DOLS-1","kind":"dols","team":"dols","policy":"dols-adass","policy_version":"2026.2","level":"high","rank":3,"due":"2024-09-07T23:00:00Z","received":"2024-08-31T23:00:00Z","at":"2024-09-10T09:30:00Z","waiting_days":9.4,"by_default":false,"rules":[{"id":"DOLS-H2","level":"high","because":"the person objects, is unsettled or tries to leave"},{"id":"DOLS-H3","level":"high","because":"physical restraint is used regularly"}]}"#,
                #"{"id":"OT-7","kind":"ot","team":"ot","policy":"ot-priority","policy_version":"2026.1","level":"p2","rank":2,"due":"2024-06-08T08:00:00Z","received":"2024-06-01T08:00:00Z","at":"2024-09-10T09:30:00Z","waiting_days":101.1,"by_default":false,"rules":[{"id":"OT-AGE1","level":"p2","because":"non-urgent but waiting over 12 weeks"}]}"#,
            ])
        // Every line is a JSON object with the contract's fields.
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            for key in ["id", "kind", "policy", "level", "rank", "due", "rules"] {
                #expect(object?[key] != nil, "\(key)")
            }
        }
    }

    @Test func explainTableForManagers() throws {
        let file = try tempFile("r.jsonl", Self.referrals)
        let r = Run([
            "policy", "explain", file, "--policies", policies, "--roster", roster, "--at", "2024-09-10T09:30:00Z",
        ])
        #expect(r.code == 0)
        #expect(
            r.out == """
                REFERRAL  KIND  LEVEL  DUE                   WAITING  RULE     BECAUSE
                DOLS-1    dols  high   2024-09-07T23:00:00Z  9.4d     DOLS-H2  the person objects, is unsettled or tries to leave
                                                                      DOLS-H3  physical restraint is used regularly
                OT-7      ot    p2     2024-06-08T08:00:00Z  101.1d   OT-AGE1  non-urgent but waiting over 12 weeks

                """)
        // A narrow terminal truncates with an ellipsis; colour only on a terminal.
        let narrow = Run(
            ["policy", "explain", file, "--policies", policies, "--roster", roster, "--at", "2024-09-10T09:30:00Z"],
            width: 80, terminal: true)
        for line in narrow.out.split(separator: "\n") {
            let visible = line.replacingOccurrences(of: "\u{1B}[31m", with: "").replacingOccurrences(
                of: "\u{1B}[33m", with: ""
            )
            .replacingOccurrences(of: "\u{1B}[0m", with: "")
            #expect(visible.count <= 80)
        }
        #expect(narrow.out.contains("…"))
        #expect(narrow.out.contains("\u{1B}[31mhigh"))
        let noColour = Run(
            ["policy", "explain", file, "--policies", policies, "--roster", roster, "--at", "2024-09-10T09:30:00Z"],
            environment: ["NO_COLOR": "1"], width: 200, terminal: true)
        #expect(!noColour.out.contains("\u{1B}["))
    }

    @Test func explainReportsBadRecordsAndExits65() throws {
        let file = try tempFile(
            "r.jsonl",
            Self.referrals + "\n" + #"{"id":"X-1","person":"P-9","kind":"dolls","received":"2024-13-01"}"#)
        let r = Run([
            "policy", "explain", file, "--policies", policies, "--roster", roster, "--at", "2024-09-10", "--format",
            "json",
        ])
        #expect(r.code == 65)
        #expect(r.out.split(separator: "\n").count == 2)
        #expect(
            r.err == """
                \(file): line 3: kind: unknown kind 'dolls': no team handles it; did you mean 'dols'?
                \(file): line 3: received: '2024-13-01' is not an ISO 8601 date or date-time (2024-09-10 or 2024-09-10T09:30:00Z)
                duty: 1 referral in \(file) could not be rated: see above

                """)
    }

    /// explain reads CSV as the spool does (the same reader), so an integrator can check an export before
    /// pointing the case system at the spool.
    @Test func explainReadsCSVLikeTheSpool() throws {
        let file = try tempFile(
            "r.csv",
            "id,person,kind,received,flags,complexity\nOT-7,P-7,ot,2024-06-01T08:00:00Z,,2\n")
        let r = Run([
            "policy", "explain", file, "--policies", policies, "--roster", roster, "--at", "2024-09-10T09:30:00Z",
            "--format", "json",
        ])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains(#""id":"OT-7""#) && r.out.contains(#""level":"p2""#))
        let bad = Run(["policy", "explain", try tempFile("r.txt", "x"), "--policies", policies])
        #expect(bad.code == 64 && bad.err.contains("is not a .json, .jsonl or .csv file"))
    }

    @Test func explainMissingFileIsNotFound() {
        let r = Run(["policy", "explain", "/nonexistent/r.json", "--policies", policies])
        #expect(r.code == 66)
        #expect(r.err == "duty: referrals file '/nonexistent/r.json' not found\n")
    }
}

@Suite struct TextTableTests {
    @Test func alignsAndTruncates() {
        var t = TextTable(["ID", "COUNT", "NOTE"])
        t.rightAligned = [1]
        t.add(["a", "1", "short"])
        t.add(["bbbb", "12345", "a much longer note that will not fit"])
        #expect(
            t.render(width: nil) == [
                "ID    COUNT  NOTE", "a         1  short", "bbbb  12345  a much longer note that will not fit",
            ])
        let narrow = t.render(width: 30)
        #expect(narrow.allSatisfy { $0.count <= 30 })
        #expect(narrow[2] == "bbbb  12345  a much longer no…")
    }
}

@Suite struct TimeArgumentTests {
    let now = ISOTime.parse("2024-09-10T09:30:00Z", timeZone: TimeZone(identifier: "UTC")!)!
    let london = TimeZone(identifier: "Europe/London")!

    @Test(arguments: [
        ("now", "2024-09-10T09:30:00Z"), ("today", "2024-09-09T23:00:00Z"), ("yesterday", "2024-09-08T23:00:00Z"),
        ("-2d", "2024-09-08T09:30:00Z"), ("-4h", "2024-09-10T05:30:00Z"), ("+1w", "2024-09-17T09:30:00Z"),
        ("2024-09-01", "2024-08-31T23:00:00Z"), ("2024-09-01T12:00:00Z", "2024-09-01T12:00:00Z"),
    ])
    func parses(text: String, expected: String) throws {
        #expect(ISOTime.format(try TimeArgument.parse(text, now: now, timeZone: london)) == expected)
    }

    /// Whole numbers print without decimals; a fact of 1e300 once went through Int64(d) and trapped.
    @Test func numbersRenderWithoutTrapping() {
        #expect(Render.number(12) == "12")
        #expect(Render.number(2.25) == "2.2" || Render.number(2.25) == "2.3")
        #expect(Render.number(1e300).hasPrefix("1000000000"))
        #expect(Render.number(-.infinity) == "-inf")
        #expect(Render.cell(.number(1e300), key: "x", timeZone: .gmt).hasPrefix("1000000000"))
    }
}

@Suite struct DayArgumentTests {
    let zone = TimeZone(identifier: "Europe/London")!
    let now = Date(timeIntervalSince1970: 1_725_958_800)  // 2024-09-10T09:00:00Z, 10:00 in London

    @Test func tomorrowIsTheStartOfTheNextLocalDay() throws {
        #expect(
            try TimeArgument.parse("tomorrow", now: now, timeZone: zone) == ISOTime.parse("2024-09-11", timeZone: zone))
    }

    /// An absence `--to` a day lasts to the end of it, however the day is written.
    @Test func daysAreNamedHoweverWritten() {
        for day in ["2024-09-20", "today", "tomorrow", "yesterday", "+1w", "+3d", "-2d"] {
            #expect(TimeArgument.namesADay(day), "\(day)")
        }
        for instant in ["now", "+4h", "-30m", "2024-09-20T17:00:00Z"] {
            #expect(!TimeArgument.namesADay(instant), "\(instant)")
        }
    }
}

/// The simulator's chart follows the report's conventions: one panel per team with its own levels, months on the
/// time axis, round ticks; well-formed SVG.
@Suite struct SimulatorChartTests {
    @Test func onePanelPerTeamMonthsAndRoundTicks() throws {
        let scenario = try Scenario.load(path: repositoryRoot + "/policies/scenarios/banes-cqc-2024.json5", days: 70)
        let simulator = try Simulator(scenario: scenario, seed: 1)
        let report = simulator.runCouncils()
        let svg = Simulate.chartPanels(
            report, title: "a <test> & chart", scenario: scenario, policies: simulator.policies,
            roster: simulator.roster)
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(svg.contains("a &lt;test&gt; &amp; chart"))
        // A panel per team with work waiting, none adding one team's red to another's.
        let panels = svg.components(separatedBy: "class=\"chart\"").count - 1
        #expect(panels >= 4 && panels <= simulator.roster.teams.count, "\(panels) panels")
        #expect(svg.contains("Deprivation of Liberty Safeguards: people waiting") && !svg.contains(">day "))
        // Round ticks only: every tick value is 1, 2 or 5 times a power of ten times a whole number.
        for ticks in [Axis.ticks(upTo: 242), Axis.ticks(upTo: 81), Axis.ticks(upTo: 7), Axis.ticks(upTo: 0)] {
            let step = ticks.count > 1 ? ticks[1] : 1
            let power = pow(10, log10(step).rounded(.down))
            #expect([1.0, 2, 5, 10].contains((step / power).rounded()) && ticks.first == 0, "\(ticks)")
            #expect(ticks.count >= 2 && ticks.count <= 7)
        }
        #expect(Axis.ticks(upTo: 242) == [0, 50, 100, 150, 200, 250])
    }

    /// A team that takes several kinds has several policies' levels on one chart: no two of its lines are drawn
    /// alike (colour, width and dash), so a grey print tells them apart.
    @Test func aChartOfNineLevelsHasNineDistinctLines() {
        let t0 = ISOTime.parse("2024-01-01T00:00:00Z", timeZone: .utc)!
        let names = ["red", "amber", "green", "p1", "p2", "p3", "high", "medium", "low"]
        let series = names.map { Series(name: $0, points: [(t0, 1), (t0.addingTimeInterval(86_400), 2)]) }
        let svg = TimeChart(
            title: "t", series: series, from: t0, to: t0.addingTimeInterval(86_400), zone: .utc, valueLabel: "n"
        ).svg()
        let lines = svg.components(separatedBy: "<polyline class=\"series\"").dropFirst().map {
            $0.components(separatedBy: " points=")[0]
        }
        #expect(
            lines.count == 9 && Set(lines.map { $0.replacingOccurrences(of: "data-points=\"2\"", with: "") }).count == 9
        )
    }

    /// A monthly table's rows cover the whole period: a period starting mid-month has that part month as its
    /// first row, not merged into the next month's (`duty report --from -13w` on 30 Nov has Sep, Oct and Nov).
    @Test func monthlyRowsStartWithThePartMonthOfTheFirstDay() {
        let london = TimeZone(identifier: "Europe/London")!
        let from = ISOTime.parse("2026-08-31T23:03:00Z", timeZone: .utc)!  // 00:03 on 1 Sep, BST
        let to = ISOTime.parse("2026-11-30T23:03:00Z", timeZone: .utc)!
        let rows = Axis.monthRows(from: from, to: to, zone: london)
        #expect(rows.map(\.1) == ["Sep 2026", "Oct", "Nov"])
        #expect(rows[0].0 == from && rows[1].0 == ISOTime.parse("2026-09-30T23:00:00Z", timeZone: .utc)!)
        let mid = ISOTime.parse("2024-12-15T10:00:00Z", timeZone: .utc)!
        let rows2 = Axis.monthRows(from: mid, to: mid.addingTimeInterval(40 * 86_400), zone: london)
        #expect(rows2.map(\.1) == ["Dec 2024", "Jan 2025"] && rows2[0].0 == mid)
        let first = ISOTime.parse("2024-01-01", timeZone: london)!
        #expect(Axis.monthRows(from: first, to: mid, zone: london).first! == (first, "Jan 2024"))
    }
}

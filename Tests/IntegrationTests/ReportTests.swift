import DutyCore
import Foundation
import Testing

/// `duty report`: one self-contained HTML page, a chart per team with data, and no referral or person ids.
@Suite(.serialized) struct ReportTests {
    /// A deployment with forty referrals of four kinds over two cycles, and its report for 2024 to September.
    static func fixture() throws -> (Deployment, String) {
        let d = try Deployment()
        let lines = (1...40).map { i in
            let kind = ["safeguarding", "dols", "review", "ot"][i % 4]
            let flags = kind == "safeguarding" ? #"["deteriorating"]"# : "[]"
            return
                #"{"id":"REF-\#(i)","person":"PERSON-\#(i)","kind":"\#(kind)","received":"2024-0\#(1 + i % 6)-1\#(i % 9)","flags":\#(flags)}"#
        }
        // One that nobody can take (a skill no worker has): it waits, and its reviews fall due.
        let waits =
            #"{"id":"REF-99","person":"PERSON-99","kind":"safeguarding","received":"2024-06-03","skills":["sign_language"]}"#
        try d.drop("a.jsonl", (lines + [waits]).joined(separator: "\n") + "\n")
        #expect(try d.once(at: "2024-07-01T09:00:00Z").code == 0)
        #expect(try d.once(at: "2024-08-15T09:00:00Z").code == 0)
        let out = d.dir + "/report.html"
        let r = try run(
            "duty", ["--config", d.config, "report", "--from", "2024-01-01", "--to", "2024-09-30", "--output", out])
        #expect(r.code == 0, "\(r.err)")
        return (d, out)
    }

    @Test func aReportIsSelfContainedChartsEveryTeamAndNamesNoOne() throws {
        let (d, out) = try Self.fixture()
        let html = try String(contentsOfFile: out, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("@page { size: A4"))
        // Self-contained: no scripts, no links or sources to fetch.
        #expect(!html.contains("<script") && !html.contains(" src=") && !html.contains(" href="))
        // A chart for every team of the roster, each line with points, months on the axis.
        let charts = html.components(separatedBy: "<svg").count - 1
        #expect(charts == 6, "\(charts) charts")
        #expect(!html.contains(#"data-points="0""#) && html.contains(">Jan 2024<") && html.contains(">Sep<"))
        #expect(html.contains("Safeguarding Adults") && html.contains("How each figure is computed"))
        // Waiting well: reviews made (and on time) and overdue at each month end. Nobody reviews in this fixture,
        // so the one still waiting at the end of September is overdue.
        #expect(html.contains("Reviews overdue at month end") && html.contains("0 (- on time)"))
        let overdueInSeptember = html.components(separatedBy: "<td>Sep</td>").dropFirst().compactMap {
            $0.components(separatedBy: "</tr>")[0].components(separatedBy: "<td class=\"n\">").last
        }
        #expect(
            overdueInSeptember.count == 6 && overdueInSeptember.contains { !$0.hasPrefix("0<") },
            "\(overdueInSeptember)")
        // Counts only: no referral id, no person reference.
        #expect(!html.contains("REF-") && !html.contains("PERSON-"))
        let bad = try run("duty", ["--config", d.config, "report", "--team", "safegaurding", "--output", out])
        #expect(bad.code == 64)
    }

    /// `duty report --from --to` on `d`, which must succeed: the page.
    static func report(_ d: Deployment, from: String, to: String) throws -> String {
        let out = d.dir + "/report.html"
        let r = try run(
            "duty", ["--config", d.config, "report", "--from", from, "--to", to, "--output", out])
        #expect(r.code == 0, "\(r.err)")
        return try String(contentsOfFile: out, encoding: .utf8)
    }

    /// The monthly rows of one team's section of a report: month label to its cells.
    static func monthRows(_ html: String, team: String) -> [String: [String]] {
        let section = html.components(separatedBy: "<h2>\(team)</h2>")[1].components(separatedBy: "</section>")[0]
        var rows: [String: [String]] = [:]
        for row in section.components(separatedBy: "<tr>").dropFirst() {
            let cells = row.components(separatedBy: "</td>").dropLast().map {
                $0.components(separatedBy: ">").last ?? ""
            }
            if let month = cells.first { rows[month] = Array(cells.dropFirst()) }
        }
        return rows
    }

    /// A council goes live with its backlog: referrals the case system received months before duty's first
    /// cycle wait from their received dates, not from go-live, so a board does not read the backlog as growth;
    /// the report says when the log begins. Updates are followed: a referral moved to another team counts there
    /// from then, a closed one reopened waits again.
    @Test func aBacklogLoadedAtGoLiveWaitsFromTheDayItWasReceived() throws {
        let d = try Deployment()
        // Nobody has sign_language, so they all wait.
        // BL-3 is received at midnight on 1 June: June's, not May's.
        let backlog = ["2024-03-10", "2024-04-10", "2024-05-10", "2024-06-01"].enumerated().map { i, day in
            #"{"id":"BL-\#(i)","person":"PB-\#(i)","kind":"safeguarding","received":"\#(day)","skills":["sign_language"]}"#
        }
        try d.drop("backlog.jsonl", backlog.joined(separator: "\n") + "\n")
        #expect(try d.once(at: "2024-07-01T09:00:00Z").code == 0)
        // 15 July: BL-2 turns out to be a DoLS matter, BL-1 is closed; 1 August: BL-1 is reopened.
        try d.drop(
            "moves.jsonl",
            #"{"id":"BL-2","person":"PB-2","kind":"dols","received":"2024-05-10","skills":["sign_language"]}"# + "\n"
                + #"{"id":"BL-1","person":"PB-1","kind":"safeguarding","received":"2024-04-10","skills":["sign_language"],"status":"closed"}"#
                + "\n")
        #expect(try d.once(at: "2024-07-15T09:00:00Z").code == 0)
        try d.drop(
            "reopen.jsonl",
            #"{"id":"BL-1","person":"PB-1","kind":"safeguarding","received":"2024-04-10","skills":["sign_language"],"status":"open"}"#
                + "\n")
        #expect(try d.once(at: "2024-08-01T09:00:00Z").code == 0)
        let html = try Self.report(d, from: "2024-01-01", to: "2024-08-31")
        let sg = Self.monthRows(html, team: "Safeguarding Adults")
        // Waiting at month end: one from March, three by May, four in June, all before duty's first cycle on 1
        // July. 10 Mar to the end of 31 Mar is 22 days; at the end of April the median of two (52 and 21 days)
        // is their mean.
        #expect(sg["Jan 2024"]?.first == "0" && sg["Feb"]?.first == "0")
        #expect(sg["Mar"]?.prefix(3) == ["1", "22", "22"], "\(sg["Mar"] ?? [])")
        #expect(sg["Apr"]?.prefix(3) == ["2", "36", "52"], "\(sg["Apr"] ?? [])")
        #expect(sg["May"]?.first == "3" && sg["Jun"]?.first == "4", "\(sg)")
        #expect(sg["Jul"]?.first == "2", "\(sg["Jul"] ?? [])")  // BL-2 moved to DoLS, BL-1 closed
        #expect(sg["Aug"]?.first == "3", "\(sg["Aug"] ?? [])")  // BL-1 reopened
        // --to names a day: the period runs to its end, with no empty month after it.
        #expect(html.contains("Waiting lists and allocation: 2024-01-01 to 2024-08-31") && sg["Sep"] == nil)
        let dols = Self.monthRows(html, team: "Deprivation of Liberty Safeguards")
        #expect(dols["Jun"]?.first == "0" && dols["Jul"]?.first == "1" && dols["Aug"]?.first == "1")
        // Reviews fell due while they waited before go-live too (safeguarding reviews weekly or so).
        #expect(sg["Jun"]?.last != "0", "\(sg["Jun"] ?? [])")
        #expect(
            html.contains("duty&#39;s log begins on 2024-07-01") || html.contains("duty's log begins on 2024-07-01"))
        #expect(html.contains("class=\"mark\""))
    }

    /// A report for a period that ended before duty went live still counts the backlog loaded later, from the
    /// days the case system received it, and says the log begins after the period.
    @Test func aPeriodBeforeGoLiveCountsTheBacklogLoadedAfterIt() throws {
        let d = try Deployment()
        let backlog = ["2024-03-10", "2024-04-10"].enumerated().map { i, day in
            #"{"id":"BL-\#(i)","person":"PB-\#(i)","kind":"safeguarding","received":"\#(day)","skills":["sign_language"]}"#
        }
        try d.drop("backlog.jsonl", backlog.joined(separator: "\n") + "\n")
        #expect(try d.once(at: "2024-07-01T09:00:00Z").code == 0)
        let out = d.dir + "/report.html"
        let r = try run(
            "duty", ["--config", d.config, "report", "--from", "2024-01-01", "--to", "2024-05-31", "--output", out])
        #expect(r.code == 0 && r.out.contains("report for 2024-01-01 to 2024-05-31"), "\(r.out)\(r.err)")
        let html = try String(contentsOfFile: out, encoding: .utf8)
        let sg = Self.monthRows(html, team: "Safeguarding Adults")
        #expect(sg["Mar"]?.first == "1" && sg["Apr"]?.first == "2" && sg["May"]?.first == "2", "\(sg)")
        #expect(html.contains("after this period ends") && !html.contains("inside this period"))
        // A period cannot start after now, and one that ends after now ends now.
        let future = try run(
            "duty", ["--config", d.config, "report", "--from", "2099-01-01", "--to", "2099-02-01", "--output", out])
        #expect(future.code == 64 && future.err.contains("starts after now"), "\(future.err)")
        let ahead = try run("duty", ["--config", d.config, "report", "--to", "2099-12-31", "--output", out])
        let today = ISOTime.formatDate(Date(), in: TimeZone(identifier: "Europe/London")!)
        #expect(ahead.code == 0 && ahead.out.hasSuffix("to \(today) written to \(out)\n"), "\(ahead.out)")
    }

    /// Top-rank allocations nobody acknowledged are the oversight gap: the measure counts them, and escalations
    /// are shown by the referral's team and the role they went to.
    @Test func anAllocationNeverAcknowledgedCountsAgainstTheMeasure() throws {
        let d = try Deployment()
        try d.drop(
            "a.jsonl",
            #"{"id":"SG-RED","person":"P-1","kind":"safeguarding","received":"2024-09-02T08:00:00Z","flags":["risk_to_life"]}"#
                + "\n")
        #expect(try d.once(at: "2024-09-02T09:00:00Z").code == 0)
        #expect(try d.once(at: "2024-09-03T09:00:00Z").code == 0)
        let html = try Self.report(d, from: "2024-09-01", to: "2024-09-30")
        #expect(html.contains("0% of 1 (0 late, 1 never acknowledged)"), "\(html)")
        #expect(html.contains("<td>Safeguarding Adults</td><td>"), "escalations by the referral's team")
    }

    /// Outputs that are not regular files are written in place, never replaced (a symlink to `/dev/null` stays
    /// one), and a failed write says why; periods typed wrong are refused; a period too short for a load ratio
    /// says so rather than printing one.
    @Test func oddOutputsAndPeriods() throws {
        let (d, _) = try Self.fixture()
        func report(_ args: [String]) throws -> Result { try run("duty", ["--config", d.config, "report"] + args) }
        let null = d.dir + "/null.html"
        try FileManager.default.createSymbolicLink(atPath: null, withDestinationPath: "/dev/null")
        let toNull = try report(["--from", "2024-01-01", "--to", "2024-09-30", "--output", null])
        #expect(toNull.code == 0, "\(toNull.err)")
        let kept = try FileManager.default.attributesOfItem(atPath: null)[.type] as? FileAttributeType
        #expect(kept == .typeSymbolicLink, "the link to /dev/null was replaced by a file")
        let full = d.dir + "/full.html"
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: "/dev/full")
        let toFull = try report(["--from", "2024-01-01", "--to", "2024-09-30", "--output", full])
        #expect(toFull.code == 1 && toFull.err.contains("No space left on device"), "\(toFull.err)")
        let toDir = try report(["--output", d.dir])
        #expect(toDir.code == 1 && toDir.err.contains("is a directory"), "\(toDir.err)")
        let typo = try report(["--from", "0001-01-01", "--output", d.dir + "/r.html"])
        #expect(typo.code == 64 && typo.err.contains("before 1990-01-01"), "\(typo.err)")
        let team = try report(["--team", "safegaurding", "--output", d.dir + "/r.html"])
        #expect(team.code == 64 && team.err.contains("did you mean 'safeguarding'"), "\(team.err)")
        let short = d.dir + "/short.html"
        #expect(try report(["--from", "2024-08-14", "--to", "2024-08-15", "--output", short]).code == 0)
        let page = try String(contentsOfFile: short, encoding: .utf8)
        #expect(page.contains("the period (2 days) is too short to say") && !page.contains("load ratio 0"))
    }

    /// A restructure merges DoLS into safeguarding: the year's report still shows the DoLS team's referrals, under
    /// its id, rather than dropping them from every figure.
    @Test func aTeamNoLongerInTheRosterKeepsItsHistory() throws {
        let d = try Deployment()
        func roster(_ teams: String, _ workers: String) throws {
            try """
            { services: [{ id: "asc", name: "ASC", head: "w-1" }], teams: [\(teams)], workers: [\(workers)] }
            """.write(toFile: d.dir + "/roster.json5", atomically: true, encoding: .utf8)
        }
        try roster(
            #"""
            { id: "safeguarding", name: "Safeguarding", service: "asc", manager: "w-1", kinds: ["safeguarding"] },
            { id: "dols", name: "DoLS", service: "asc", manager: "w-2", kinds: ["dols"] }
            """#,
            #"""
            { id: "w-1", name: "Team Manager", team: "safeguarding", role: "team_manager" },
            { id: "w-2", name: "DoLS Manager", team: "dols", role: "team_manager" }
            """#)
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "roster.json5", cycle: "60s" }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        try d.drop(
            "a.jsonl",
            #"{"id":"D-1","person":"P-1","kind":"dols","received":"2024-09-02"}"# + "\n"
                + #"{"id":"D-2","person":"P-2","kind":"dols","received":"2024-09-03"}"# + "\n")
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        try roster(
            #"{ id: "safeguarding", name: "Safeguarding", service: "asc", manager: "w-1", kinds: ["safeguarding", "dols"] }"#,
            #"{ id: "w-1", name: "Team Manager", team: "safeguarding", role: "team_manager" }"#)
        let html = try Self.report(d, from: "2024-09-01", to: "2024-09-30")
        let dols = Self.monthRows(html, team: "dols (no longer in the roster)")
        #expect(dols["Sep 2024"]?.first == "2", "\(dols)")
        let one = try run(
            "duty",
            ["--config", d.config, "report", "--team", "dols", "--from", "2024-09-01", "--output", d.dir + "/one.html"])
        #expect(one.code == 0, "\(one.err)")
    }
}

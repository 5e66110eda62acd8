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
}

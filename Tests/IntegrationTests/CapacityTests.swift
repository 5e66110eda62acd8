import DutyCore
import Foundation
import Testing

/// `duty capacity` on a database built by real `dutyd --once` cycles over arrivals with a known rate and holding
/// time: the load ratio is what Little's law says they imply.
@Suite(.serialized) struct CapacityTests {
    @Test func loadRatioMatchesTheArrivalsAndHoldingTime() throws {
        let d = try Deployment()
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "\(repositoryRoot)/systemd/roster.json5",
          cycle: "60s", spool_settle: "0s" }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        let day0 = Date(timeIntervalSince1970: 1_725_926_400)  // 2024-09-10T00:00:00Z
        func at(_ day: Int, _ hour: Int) -> String {
            ISOTime.format(day0.addingTimeInterval(Double(day * 86_400 + hour * 3_600)))
        }
        // Four reviews a day (1 point each: review 1 x complexity 3's 1), each closed 10 days after it arrived
        // (allocated the day it arrived), for 40 days.
        func record(_ day: Int, _ n: Int, closed: Bool) -> String {
            #"{"id":"RV-\#(day)-\#(n)","person":"P-\#(day)-\#(n)","kind":"review","received":"\#(at(day, 8))","flags":["annual_review"],"complexity":3\#(closed ? #","status":"closed""# : "")}"#
        }
        for day in 0..<40 {
            var lines = (0..<4).map { record(day, $0, closed: false) }
            if day >= 10 { lines += (0..<4).map { record(day - 10, $0, closed: true) } }
            try d.drop("day-\(day).jsonl", lines.joined(separator: "\n") + "\n")
            #expect(try d.once(at: at(day, 9)).code == 0)
        }
        let r = try run(
            "duty",
            [
                "--config", d.config, "capacity", "--team", "reviewing", "--since", at(0, 0), "--until", at(40, 0),
                "--format", "json",
            ])
        #expect(r.code == 0, "\(r.err)")
        let f = try #require(JSONValue.parse(r.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        let capacity = try #require(f["present_capacity_points"]?.doubleValue)
        #expect(abs((f["arrivals_per_week"]?.doubleValue ?? 0) - 28) < 0.5)
        #expect(abs((f["mean_held_days"]?.doubleValue ?? 0) - 9.96) < 0.2, "closed the cycle after 10 days")
        let implied = 4.0 * 1 * 10 / capacity
        let ratio = try #require(f["load_ratio"]?.doubleValue)
        #expect(abs(ratio - implied) / implied < 0.1, "load ratio \(ratio), implied \(implied)")
        #expect(f["waiting"]?.intValue == 0 && f["workers_needed"]?.intValue == 0)
    }

    /// `duty capacity` follows the case system's updates as the database does: a referral moved to another team
    /// waits there, one reopened waits again. Its waiting counts are `duty stats --by team`'s.
    @Test func waitingFollowsTeamMovesAndReopenings() throws {
        let d = try Deployment()
        // Nobody has sign_language: they all wait.
        func record(_ id: String, _ kind: String, _ status: String = "open") -> String {
            #"{"id":"\#(id)","person":"P-\#(id)","kind":"\#(kind)","received":"2024-09-02","skills":["sign_language"],"status":"\#(status)"}"#
        }
        try d.drop(
            "a.jsonl", [record("A", "safeguarding"), record("B", "safeguarding")].joined(separator: "\n") + "\n")
        #expect(try d.once(at: "2024-09-02T09:00:00Z").code == 0)
        // A becomes a DoLS matter; B is closed, then reopened.
        try d.drop(
            "b.jsonl", [record("A", "dols"), record("B", "safeguarding", "closed")].joined(separator: "\n") + "\n")
        #expect(try d.once(at: "2024-09-03T09:00:00Z").code == 0)
        try d.drop("c.jsonl", record("B", "safeguarding") + "\n")
        #expect(try d.once(at: "2024-09-04T09:00:00Z").code == 0)
        let r = try run(
            "duty",
            ["--config", d.config, "capacity", "--since", "2024-09-01", "--until", "2024-09-05", "--format", "json"])
        #expect(r.code == 0, "\(r.err)")
        var waiting: [String: Int64] = [:]
        for line in r.out.split(separator: "\n") {
            guard let f = JSONValue.parse(String(line)), let team = f["team"]?.stringValue else { continue }
            waiting[team] = f["waiting"]?.intValue
        }
        #expect(waiting["safeguarding"] == 1 && waiting["dols"] == 1, "\(r.out)")
        let stats = try run("duty", ["--config", d.config, "stats", "--by", "team", "--format", "json"])
        for line in stats.out.split(separator: "\n") {
            guard let f = JSONValue.parse(String(line)), let team = f["key"]?.stringValue else { continue }
            #expect(f["waiting"]?.intValue == waiting[team], "\(team): \(stats.out)")
        }
    }
}

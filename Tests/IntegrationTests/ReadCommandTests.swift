import DutyCore
import DutyStore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized) struct ReadCommandTests {
    /// A deployment after two cycles: four referrals rated, allocated or blocked.
    func populated() throws -> Deployment {
        let d = try Deployment()
        try d.drop(
            "a.jsonl",
            """
            {"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-10T08:00:00Z","flags":["risk_to_life"]}
            {"id":"DL-1","person":"P-2","kind":"dols","received":"2024-09-01","flags":["objection","restraint_regular"],"complexity":4}
            {"id":"FA-1","person":"P-3","kind":"financial_assessment","received":"2024-07-01","complexity":5}

            """)
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        return d
    }

    func duty(_ d: Deployment, _ args: [String], environment: [String: String] = [:]) throws -> Result {
        try run("duty", ["--config", d.config] + args, environment: environment)
    }

    @Test func waitingShowWhyLogStatsJSONShapes() throws {
        let d = try populated()
        // FA-1 (complexity 5) has nobody experienced enough... unless w-610: it is allocated; check fields either way.
        let show = try duty(d, ["show", "SG-1", "--format", "json"])
        #expect(show.code == 0, "\(show.err)")
        let s = try #require(JSONValue.parse(show.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        for key in [
            "id", "person", "kind", "team", "state", "level", "rank", "pinned", "rules", "worker", "manager",
            "fallback",
            "received", "rated", "allocated", "due", "acknowledged", "timeline",
        ] {
            #expect(s[key] != nil, "show lacks \(key)")
        }
        #expect(s["state"]?.stringValue == "allocated" && s["level"]?.stringValue == "red")
        #expect(
            s["rules"]?.serialized()
                == #"[{"id":"SG-R1","level":"red","because":"immediate risk to life or of significant harm: decide and allocate today"}]"#
        )
        #expect(s["received"]?.stringValue == "2024-09-10T08:00:00Z")

        let why = try duty(d, ["why", "SG-1", "--format", "json"])
        let w = try #require(JSONValue.parse(why.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(w["id"]?.stringValue == "SG-1" && w["worker"]?.stringValue == s["worker"]?.stringValue)
        guard case .array(let candidates)? = w["candidates"] else {
            Issue.record("no candidates")
            return
        }
        #expect(candidates.count == 7)
        for c in candidates {
            for key in ["worker", "eligible", "score", "parts", "excluded_by"] {
                #expect(c[key] != nil, "candidate lacks \(key)")
            }
        }
        let one = try duty(d, ["why", "SG-1", "--worker", "w-115"])
        let oneRows = one.out.split(separator: "\n")
        #expect(oneRows.count == 3 && oneRows[2].hasPrefix("w-115"), "\(one.out)")
        #expect(try duty(d, ["why", "SG-1", "--worker", "w-900"]).code == 66)

        let log = try duty(d, ["log", "--referral", "SG-1", "--format", "json"])
        let lines = log.out.split(separator: "\n")
        #expect(lines.count == 3)
        let first = try #require(JSONValue.parse(String(lines[0])))
        #expect(first.objectKeys == ["seq", "at", "type", "referral", "actor", "data", "hash"])

        let stats = try duty(d, ["stats", "--as-of", "2024-09-10T09:00:00Z", "--format", "json"])
        let rows = stats.out.split(separator: "\n").compactMap { JSONValue.parse(String($0)) }
        #expect(rows.map { $0["key"]?.stringValue ?? "" } == ["dols", "financial_assessment", "safeguarding"])
        for r in rows {
            #expect(
                r.objectKeys == [
                    "key", "waiting", "median_days", "max_days", "allocated", "within_timescale_pct", "overdue",
                    "reviews_overdue",
                ])
        }
        let csv = try duty(d, ["stats", "--format", "csv"])
        #expect(
            csv.out.hasPrefix(
                "key,waiting,median_days,max_days,allocated,within_timescale_pct,overdue,reviews_overdue\n"))

        let waiting = try duty(d, ["waiting", "--format", "json"])
        for line in waiting.out.split(separator: "\n") {
            let r = try #require(JSONValue.parse(String(line)))
            #expect(
                r.objectKeys == [
                    "id", "person", "kind", "team", "level", "rank", "received", "waiting_days", "due", "overdue",
                    "blocked", "next_review",
                ])
        }
        let caseload = try duty(d, ["caseload", "--team", "dols", "--format", "json"])
        let c0 = try #require(JSONValue.parse(String(caseload.out.split(separator: "\n")[0])))
        #expect(c0.objectKeys == ["worker", "worker_name", "team", "load", "capacity", "open", "absent"])
        // People by name beside their ids: the table, the JSON and the CSV.
        let roster = try Roster.load(path: repositoryRoot + "/systemd/roster.json5").0
        let w0 = try #require(roster.workerByID[c0["worker"]?.stringValue ?? ""])
        #expect(c0["worker_name"]?.stringValue == w0.name)
        let table = try duty(d, ["caseload", "--team", "dols"]).out
        #expect(table.contains("\(w0.id) (\(w0.name))"), "\(table)")
        #expect(try duty(d, ["caseload", "--format", "csv"]).out.hasPrefix("worker,worker_name,team,"))
        // The waiting list's CSV has every field its JSON has.
        let waitingCSV = try duty(d, ["waiting", "--format", "csv"]).out
        #expect(
            waitingCSV.hasPrefix(
                "id,person,kind,team,level,rank,received,waiting_days,due,overdue,blocked,next_review\n"),
            "\(waitingCSV)")

        let status = try duty(d, ["status", "--format", "json"])
        #expect(status.code == 69)
        let st = try #require(JSONValue.parse(status.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(st.objectKeys == ["daemon", "version", "last_cycle", "waiting", "blocked", "overdue"])
        #expect(st["daemon"]?.stringValue == "stopped")
        #expect(status.err == "duty: dutyd is not running (systemctl start dutyd?)\n")

        #expect(try duty(d, ["show", "NOPE"]).code == 66)
        #expect(try duty(d, ["stats", "--by", "colour"]).code == 64)
        let export = try duty(d, ["export", "--format", "csv"])
        #expect(export.out.split(separator: "\n").count == 4)
    }

    /// A safeguarding team with nobody to allocate to: `why` and `show` give each waiting referral's place in
    /// the allocation order and what is ahead of it (the shipped `max_wait: { after: "26w", yields_to: 3 }`).
    @Test func whyAndShowExplainThePlaceInTheOrder() throws {
        let d = try Deployment()
        try """
        { services: [{ id: "asc", name: "ASC", head: "w-1" }],
          teams: [{ id: "safeguarding", name: "Safeguarding", service: "asc", manager: "w-1", kinds: ["safeguarding"] }],
          workers: [{ id: "w-1", name: "Team Manager", team: "safeguarding", role: "team_manager" }] }
        """.write(toFile: d.dir + "/roster.json5", atomically: true, encoding: .utf8)
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "roster.json5", cycle: "60s" }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        let now = Date()
        func ago(_ days: Double) -> String { ISOTime.format(now.addingTimeInterval(-days * 86_400)) }
        try d.drop(
            "a.jsonl",
            """
            {"id":"NEW-RED","person":"P-1","kind":"safeguarding","received":"\(ago(0.1))","flags":["risk_to_life"]}
            {"id":"OLD","person":"P-2","kind":"safeguarding","received":"\(ago(200))"}
            {"id":"AGED","person":"P-3","kind":"safeguarding","received":"\(ago(21))"}
            {"id":"AMBER","person":"P-4","kind":"safeguarding","received":"\(ago(0.05))","flags":["deteriorating"]}

            """)
        #expect(try d.once(at: ISOTime.format(now)).code == 0)
        var positions: [String: Int] = [:]
        for id in ["NEW-RED", "OLD", "AGED", "AMBER"] {
            let why = try duty(d, ["why", id, "--format", "json"])
            #expect(why.code == 0, "\(why.err)")
            let w = try #require(JSONValue.parse(why.out.trimmingCharacters(in: .whitespacesAndNewlines)))
            let place = try #require(w["place"])
            #expect(place["of"]?.intValue == 4 && place["team"]?.stringValue == "safeguarding")
            positions[id] = place["position"]?.intValue.map { Int($0) }
            if id == "OLD" {
                #expect(place["past_max_wait"]?.boolValue == true && place["on_risk"]?.boolValue == false)
                #expect(place["ahead"]?.serialized() == #"{"yields_to":1}"#)
            }
            if id == "AMBER" {
                #expect(place["ahead"]?.serialized() == #"{"yields_to":1,"max_wait":1,"rank":1}"#)
            }
        }
        #expect(positions == ["NEW-RED": 1, "OLD": 2, "AGED": 3, "AMBER": 4])
        // `duty waiting` lists them in that same order (by rank alone, OLD would be last and AGED second), in
        // every format.
        let list = try duty(d, ["waiting", "--format", "json"])
        let ids = list.out.split(separator: "\n").compactMap { JSONValue.parse(String($0))?["id"]?.stringValue }
        #expect(ids == ["NEW-RED", "OLD", "AGED", "AMBER"], "\(list.out)")
        // dutyd is not running here: the list says its levels and order are the last cycle's.
        #expect(list.err.contains("note: dutyd is not running or not answering"), "\(list.err)")
        let csv = try duty(d, ["waiting", "--format", "csv"]).out.split(separator: "\n").dropFirst()
        #expect(csv.map { String($0.prefix { $0 != "," }) } == ids)
        let table = try duty(d, ["waiting"]).out.split(separator: "\n").dropFirst()
        #expect(table.map { String($0.prefix { $0 != " " }) } == ids, "\(table)")
        let why = try duty(d, ["why", "AGED"])
        #expect(
            why.out.contains(
                "place in the allocation order: 3 of 4 waiting in safeguarding: rank 3 by aging rules (rank 1 on its risk)"
            ), "\(why.out)")
        #expect(why.out.contains("ahead of it: 1 top-rank on its risk (max_wait.yields_to), 1 waiting past max_wait"))
        // `show` stays cheap at any size: it points to `why` for the place.
        #expect(try duty(d, ["show", "AGED"]).out.contains("place in the allocation order: duty why AGED"))
    }

    @Test func verifyOnATamperedCopyExits65() throws {
        let d = try populated()
        let ok = try duty(d, ["verify"])
        #expect(ok.code == 0 && ok.out.hasPrefix("ok: "))
        let head = try #require(ok.out.split(separator: "\n").last.map { String($0.dropFirst("head: ".count)) })
        #expect(try duty(d, ["verify", "--checkpoint", head]).code == 0)
        // Tamper with a copy.
        let copy = try tempDir()
        for f in ["duty.db", "duty.db-wal", "duty.db-shm"] where d.exists("state/" + f) {
            try FileManager.default.copyItem(atPath: d.dir + "/state/" + f, toPath: copy + "/" + f)
        }
        let db = try Database(.file(copy + "/duty.db"))
        try db.execute(
            "DROP TRIGGER events_no_update; UPDATE events SET data = replace(data, 'risk_to_life', 'no_risk') WHERE type = 'referral.received'"
        )
        try """
        { state_dir: "\(copy)", spool_dir: "\(d.dir)/spool", policies: "\(d.dir)/policies", roster: "\(repositoryRoot)/systemd/roster.json5" }
        """.write(toFile: copy + "/dutyd.conf", atomically: true, encoding: .utf8)
        let bad = try run("duty", ["--config", copy + "/dutyd.conf", "verify"])
        #expect(bad.code == 65)
        #expect(bad.err.hasPrefix("duty: the allocation log does not verify at seq "))
    }

    @Test func showSeesTheFallbackAfterAnAbsence() throws {
        let daemon = try RunningDaemon()
        #expect(try daemon.duty(["absence", "add", "w-100", "--from", "-1d", "--to", "+7d"]).code == 0)
        try daemon.d.drop(
            "a.jsonl", #"{"id":"SG-9","person":"P-9","kind":"safeguarding","received":"2024-09-10T08:00:00Z"}"# + "\n")
        #expect(try daemon.duty(["cycle"]).code == 0)
        let show = try daemon.duty(["show", "SG-9"])
        #expect(show.code == 0)
        #expect(show.out.contains("accountable: w-101 (Priya Lund) (fallback)"), "\(show.out)")
        let status = try daemon.duty(["status"])
        #expect(status.code == 0 && status.out.hasPrefix("dutyd: running (\(DutyVersion.string))"))
        _ = daemon.stop()
    }
}

@Suite struct PolicyDiffTests {
    @Test func diffReportsAKnownChange() throws {
        let d = try Deployment()
        try d.drop(
            "a.jsonl",
            """
            {"id":"FA-2","person":"P-7","kind":"financial_assessment","received":"2024-07-01","skills":["sign_language"]}
            {"id":"FA-3","person":"P-8","kind":"financial_assessment","received":"2024-09-01","skills":["sign_language"]}

            """)
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        let candidate = try tempDir() + "/policies"
        try FileManager.default.copyItem(atPath: d.dir + "/policies", toPath: candidate)
        let file = candidate + "/triage/financial-assessment.json5"
        let text = try String(contentsOfFile: file, encoding: .utf8)
            .replacingOccurrences(of: #"when: "waiting > 56d""#, with: #"when: "waiting > 100d""#)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try run(
            "duty",
            ["--config", d.config, "policy", "diff", candidate, "--at", "2024-09-10T09:00:00Z", "--format", "json"])
        #expect(r.code == 0, "\(r.err)")
        let report = try #require(JSONValue.parse(r.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(
            report["changes"]?.serialized()
                == #"[{"id":"FA-2","kind":"financial_assessment","from":"red","to":"amber","rules":["FA-AGE1"]}]"#)
        // Levels by rank, highest first, as the policy lists them (not alphabetically).
        #expect(
            report["counts"]?.serialized()
                == #"[{"kind":"financial_assessment","level":"red","before":1,"after":0},{"kind":"financial_assessment","level":"amber","before":0,"after":1},{"kind":"financial_assessment","level":"green","before":1,"after":1}]"#
        )
        #expect(report["order"]?.serialized() == "[]", "FA-2 still comes first: amber is above green")
        // Broken candidates exit 65 with positions.
        try "{ id: 'x' }".write(toFile: candidate + "/triage/zz.json5", atomically: true, encoding: .utf8)
        let bad = try run("duty", ["--config", d.config, "policy", "diff", candidate])
        #expect(bad.code == 65 && bad.err.contains("zz.json5:1:1"))
    }
}

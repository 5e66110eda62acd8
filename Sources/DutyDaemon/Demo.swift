import DutyCore
import DutyStore
import Foundation

/// `dutyd --demo`: a real daemon on the example roster and the shipped policies, in `./duty-demo/`, fed by a
/// generator of synthetic referrals (pseudonymous ids only) with an absent team manager to show the fallback.
enum Demo {
    /// Where the example roster and the policies are found: a checkout of the repository (the working folder),
    /// then an installation beside the executable (`../share/duty`), then `/usr/share/duty`.
    static func locate() -> (policies: String, roster: String)? {
        let cwd = FileManager.default.currentDirectoryPath
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            (cwd + "/policies", cwd + "/systemd/roster.json5"),
            (
                exe.appendingPathComponent("../share/duty/policies").standardized.path,
                exe.appendingPathComponent("../share/duty/roster.json5").standardized.path
            ),
            ("/usr/share/duty/policies", "/usr/share/duty/roster.json5"),
        ]
        return candidates.first {
            FileManager.default.fileExists(atPath: $0.0 + "/allocation.json5")
                && FileManager.default.fileExists(atPath: $0.1)
        }
    }

    /// Creates the demo folder and its config; returns the config's path.
    static func prepare(in dir: String, out: (String) -> Void) throws(DutyError) -> String {
        guard let (policies, roster) = locate() else {
            throw DutyError(
                .notFound,
                "cannot find the shipped policies and example roster: run the demo from the repository folder")
        }
        let config = dir + "/dutyd.conf"
        // The demo's roster is the example's with you as the safeguarding deputy (w-101, the manager while the
        // team manager is away), so that `duty ack`, `duty inbox` and the other manager commands work for you.
        let me = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "root"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let example = try String(contentsOfFile: roster, encoding: .utf8)
            let mine = example.replacingOccurrences(of: #"unix_user: "plund""#, with: #"unix_user: "\#(me)""#)
            try ("// The example roster with w-101 (safeguarding deputy) as \(me), written by dutyd --demo.\n" + mine)
                .write(toFile: dir + "/roster.json5", atomically: true, encoding: .utf8)
            let text = """
                // The demo's configuration, written by dutyd --demo.
                {
                  state_dir: "state",
                  spool_dir: "spool",
                  policies: "\(policies)",
                  roster: "roster.json5",
                  cycle: "10s",
                  spool_settle: "0s",
                }

                """
            try text.write(toFile: config, atomically: true, encoding: .utf8)
        } catch {
            throw DutyError(.failure, "cannot create \(dir)", cause: "\(error)")
        }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let duty = exe.appendingPathComponent("duty").path
        let cli = FileManager.default.isExecutableFile(atPath: duty) ? duty : "duty"
        out(
            """
            dutyd demo in \(dir): the example roster and the shipped policies, a cycle every 10 s.
            It starts with a backlog bigger than the DoLS and safeguarding teams can take (blocked work, escalations,
            reviews due), records the safeguarding team manager and two Best Interests Assessors as away (fallbacks),
            and drops a few synthetic referrals every cycle (some invalid, to show rejection). You (\(me)) are w-101,
            the safeguarding deputy, in the demo's roster. In another terminal:
              \(cli) --config \(config) status
              \(cli) --config \(config) waiting --team safeguarding
              \(cli) --config \(config) why REF        (a referral id from the list)
              \(cli) --config \(config) inbox          (what waits for you as w-101)
              \(cli) --config \(config) ack REF        (a red allocated with you accountable)
              \(cli) --config \(config) capacity
              \(cli) --config \(config) policy diff \(policies)
            The database is \(dir)/state/duty.db; rejected files land in \(dir)/spool/rejected.
            Stop with Ctrl-C.
            """)
        return config
    }
}

/// Drops a small file of synthetic referrals into the spool before each demo cycle.
struct DemoGenerator {
    let daemon: Daemon
    private let kinds: [(String, [String])] = [
        ("safeguarding", ["risk_to_life", "deteriorating", "carer_strain", "risk_managed", "below_s42_threshold"]),
        ("dols", ["urgent_authorisation", "objection", "restraint_regular", "new_placement", "end_of_life"]),
        ("care_act_assessment", ["hospital_discharge", "carer_strain", "lives_alone", "deteriorating"]),
        ("review", ["first_review", "annual_review", "needs_changed"]),
        ("ot", ["unsafe_transfers", "recent_falls", "deteriorating"]),
        ("financial_assessment", ["hardship", "placement_at_risk"]),
    ]

    init(daemon: Daemon) {
        self.daemon = daemon
        // The safeguarding team's manager and two BIAs are away: fallbacks to the deputy, and less DoLS room.
        let now = daemon.clock()
        let manager = daemon.roster.teamByID["safeguarding"]?.manager ?? daemon.roster.teams.first?.manager
        let away = [manager, "w-213", "w-214"].compactMap { $0 }.filter { daemon.roster.workerByID[$0] != nil }
        let recorded = Set((try? daemon.store.absences(endingAfter: now).map(\.absence.worker)) ?? [])
        for worker in away where !recorded.contains(worker) {
            _ = try? daemon.store.append(
                [
                    NewEvent(
                        type: "absence.recorded", actor: "dutyd",
                        data: .object([
                            ("absence", .string("demo-\(worker)")), ("worker", .string(worker)),
                            ("from", .time(now.addingTimeInterval(-86_400))),
                            ("to", .time(now.addingTimeInterval(14 * 86_400))),
                            ("by", .string("dutyd")), ("reason", .string("demo: annual leave")),
                        ]))
                ], at: now)
            daemon.log.notice("demo: \(worker) recorded as away for two weeks")
        }
        // A backlog the DoLS and safeguarding teams cannot take in at once (first start only).
        if (try? daemon.store.waiting().isEmpty) == true,
            (try? daemon.store.log(LogFilter(limit: 50)).contains {
                $0.type == "referral.received"
            }) == false
        {
            dropBacklog(now: now)
        }
    }

    /// How many referrals of each kind the first start drops, received over the last 60 days.
    private let backlog: [(String, Int)] = [
        ("dols", 150), ("safeguarding", 120), ("care_act_assessment", 40), ("review", 30), ("ot", 30),
        ("financial_assessment", 30),
    ]

    private func dropBacklog(now: Date) {
        var lines: [String] = []
        for (kind, count) in backlog {
            let flags = kinds.first { $0.0 == kind }?.1 ?? []
            for n in 0..<count {
                let chosen = flags.filter { _ in Int.random(in: 0..<5) == 0 }
                let received = now.addingTimeInterval(-Double(Int.random(in: 3_600...(60 * 86_400))))
                lines.append(
                    JSONValue.object([
                        ("id", .string("BACKLOG-\(kind.prefix(3).uppercased())-\(n)")),
                        ("person", .string("P-\(Int.random(in: 10_000...99_999))")), ("kind", .string(kind)),
                        ("received", .time(received)), ("flags", .strings(chosen)),
                        ("complexity", .int(Int64(Int.random(in: 1...5)))),
                    ]).serialized())
            }
        }
        let incoming = daemon.config.spoolDir + "/incoming/"
        do {
            try (lines.joined(separator: "\n") + "\n").write(
                toFile: incoming + ".demo-backlog.tmp", atomically: false, encoding: .utf8)
            try FileManager.default.moveItem(
                atPath: incoming + ".demo-backlog.tmp", toPath: incoming + "demo-backlog.jsonl")
            daemon.log.notice("demo: a backlog of \(lines.count) referrals dropped into the spool")
        } catch {
            daemon.log.warning("demo: cannot write the backlog to the spool: \(error)")
        }
    }

    private var drops = 0

    mutating func drop() {
        drops += 1
        let now = daemon.clock()
        let stamp = Int(now.timeIntervalSince1970 * 1000)
        var lines: [String] = []
        for n in 0..<Int.random(in: 1...4) {
            let (kind, flags) = kinds.randomElement()!
            let chosen = flags.filter { _ in Int.random(in: 0..<4) == 0 }
            let received = now.addingTimeInterval(-Double(Int.random(in: 0...(40 * 86_400))))
            let record = JSONValue.object([
                ("id", .string("DEMO-\(stamp)-\(n)")), ("person", .string("P-\(Int.random(in: 1000...9999))")),
                ("kind", .string(kind)), ("received", .time(received)), ("flags", .strings(chosen)),
                ("complexity", .int(Int64(Int.random(in: 1...5)))),
            ])
            lines.append(record.serialized())
        }
        if drops == 1 {
            // The first drop shows the fallback (safeguarding, whose manager is away) and a rejection.
            lines.append(
                JSONValue.object([
                    ("id", .string("DEMO-\(stamp)-sg")), ("person", .string("P-\(Int.random(in: 1000...9999))")),
                    ("kind", .string("safeguarding")), ("received", .time(now.addingTimeInterval(-3_600))),
                    ("flags", .strings(["risk_to_life"])), ("complexity", .int(3)),
                ]).serialized())
        }
        if drops == 1 || Int.random(in: 0..<6) == 0 {
            lines.append(#"{"id":"DEMO-\#(stamp)-bad","person":"P-1","kind":"dolls","received":"yesterday"}"#)
        }
        let incoming = daemon.config.spoolDir + "/incoming/"
        let tmp = incoming + ".demo-\(stamp).tmp"
        do {
            try (lines.joined(separator: "\n") + "\n").write(toFile: tmp, atomically: false, encoding: .utf8)
            try FileManager.default.moveItem(atPath: tmp, toPath: incoming + "demo-\(stamp).jsonl")
        } catch {
            daemon.log.warning("demo: cannot write to the spool: \(error)")
        }
    }
}

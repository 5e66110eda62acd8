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
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let text = """
                // The demo's configuration, written by dutyd --demo.
                {
                  state_dir: "state",
                  spool_dir: "spool",
                  policies: "\(policies)",
                  roster: "\(roster)",
                  cycle: "10s",
                }

                """
            try text.write(toFile: config, atomically: true, encoding: .utf8)
        } catch {
            throw DutyError(.failure, "cannot create \(dir)", cause: "\(error)")
        }
        out(
            """
            dutyd demo in \(dir): the example roster and the shipped policies, a cycle every 10 s.
            A generator drops synthetic referrals into \(dir)/spool/incoming every cycle (some invalid, to show
            rejection), and the safeguarding team manager is recorded as absent (to show the fallback to a deputy).
            In another terminal:
              duty --config \(config) policy check
              duty --config \(config) policy explain FILE
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
        // The safeguarding team's manager is away: allocations fall back to the deputy.
        let now = daemon.clock()
        if let manager = daemon.roster.teamByID["safeguarding"]?.manager ?? daemon.roster.teams.first?.manager,
            (try? daemon.store.absences(endingAfter: now).contains { $0.absence.worker == manager }) == false
        {
            _ = try? daemon.store.append(
                [
                    NewEvent(
                        type: "absence.recorded", actor: "dutyd",
                        data: .object([
                            ("absence", .string("demo-\(manager)")), ("worker", .string(manager)),
                            ("from", .time(now.addingTimeInterval(-86_400))),
                            ("to", .time(now.addingTimeInterval(14 * 86_400))),
                            ("by", .string("dutyd")), ("reason", .string("demo: annual leave")),
                        ]))
                ], at: now)
            daemon.log.notice("demo: \(manager) (safeguarding team manager) recorded as absent for two weeks")
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

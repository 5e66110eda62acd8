import DutyCore
import DutyStore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A temporary deployment: config, spool and state folders, the shipped policies copied so tests may break them.
struct Deployment {
    let dir: String
    var config: String { dir + "/dutyd.conf" }
    var incoming: String { dir + "/spool/incoming" }
    var db: String { dir + "/state/duty.db" }

    init(cycle: String = "60s") throws {
        dir = try tempDir()
        try FileManager.default.copyItem(atPath: repositoryRoot + "/policies", toPath: dir + "/policies")
        try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true)
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "\(repositoryRoot)/systemd/roster.json5",
          cycle: "\(cycle)" }
        """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    func drop(_ name: String, _ text: String) throws {
        try text.write(toFile: incoming + "/" + name + ".tmp", atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: incoming + "/" + name + ".tmp", toPath: incoming + "/" + name)
    }

    func once(at time: String) throws -> Result { try run("dutyd", ["--config", config, "--once", "--now", time]) }

    func events() throws -> [StoredEvent] { try Store(path: db, readOnly: true).log() }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: dir + "/" + path) }

    /// Starts dutyd on this deployment as systemd would, notifying `notify`, with `environment` added; its
    /// stderr goes to `stderr` (or nowhere).
    func startDutyd(notify: NotifySocket, environment: [String: String] = [:], stderr: Pipe? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binDir + "/dutyd")
        p.arguments = ["--config", config]
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            .merging(["NOTIFY_SOCKET": notify.path]) { $1 }
        p.standardError = stderr ?? FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }
}

@Suite(.serialized) struct DaemonTests {
    @Test func onceOverSpoolFixtures() throws {
        let d = try Deployment()
        try d.drop(
            "a.jsonl",
            """
            {"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-10T08:00:00Z","flags":["risk_to_life"]}
            {"id":"DL-1","person":"P-2","kind":"dols","received":"2024-09-01","flags":["objection","restraint_regular"],"complexity":4}
            {"id":"bad","person":"P-3","kind":"dolls","received":"2024-09-01"}

            """)
        try d.drop(
            "b.csv",
            "id,person,kind,received,flags,complexity,fact.age\nCA-1,P-4,care_act_assessment,2024-08-01,lives_alone,3,88\nOT-1,P-5,ot,2024-09-09,\"recent_falls;deteriorating\",2,\n"
        )
        try d.drop("c.json", "{ broken")
        try d.drop("d.json", #"[{"id":"FA-1","person":"P-6","kind":"financial_assessment","received":"2024-09-02"}]"#)
        try "partial".write(toFile: d.incoming + "/e.jsonl.tmp", atomically: true, encoding: .utf8)
        try "hidden".write(toFile: d.incoming + "/.f.jsonl", atomically: true, encoding: .utf8)
        let r = try d.once(at: "2024-09-10T09:00:00Z")
        #expect(r.code == 0, "\(r.err)")
        #expect(d.exists("spool/processed/b.csv") && d.exists("spool/processed/d.json"))
        #expect(d.exists("spool/rejected/a.jsonl") && d.exists("spool/rejected/a.jsonl.errors.json"))
        #expect(d.exists("spool/rejected/c.json") && d.exists("spool/rejected/c.json.errors.json"))
        #expect(
            d.exists("spool/incoming/e.jsonl.tmp") && d.exists("spool/incoming/.f.jsonl"),
            "files being written are left")
        let errors = try String(contentsOfFile: d.dir + "/spool/rejected/a.jsonl.errors.json", encoding: .utf8)
        #expect(
            errors.contains(
                #""line":3,"field":"kind","message":"unknown kind 'dolls': no team handles it; did you mean 'dols'?""#))
        #expect(r.err.contains("a.jsonl: 1 bad record rejected"))
        let events = try d.events()
        let types = Dictionary(grouping: events, by: \.type).mapValues(\.count)
        #expect(types["referral.received"] == 5)
        #expect(types["intake.rejected"] == 2)
        #expect(types["triage.rated"] == 5)
        #expect(types["allocation.assigned"] == 5)
        #expect(types["config.loaded"] == 1)
        #expect(try Store(path: d.db, readOnly: true).verify().ok)
        // The CSV's list and fact columns arrived typed.
        let ot = try #require(try Store(path: d.db, readOnly: true).referral("OT-1"))
        #expect(ot.flags == ["recent_falls", "deteriorating"] && ot.level == "p2")
        #expect(try Store(path: d.db, readOnly: true).referral("CA-1")?.facts["age"] == .number(88))
        // A cycle with nothing new writes nothing.
        let again = try d.once(at: "2024-09-10T09:00:00Z")
        #expect(again.code == 0)
        #expect(try d.events().count == events.count)
    }

    @Test func updatesClosesDuplicatesAndACrashBeforeTheMove() throws {
        let d = try Deployment()
        try d.drop(
            "a.json",
            #"[{"id":"R-1","person":"P-1","kind":"review","received":"2024-09-01","flags":["annual_review"]},{"id":"R-2","person":"P-2","kind":"review","received":"2024-09-01"}]"#
        )
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        let before = try d.events().count
        // The same file again, as after a crash between the commit and the move: nothing new.
        try FileManager.default.moveItem(atPath: d.dir + "/spool/processed/a.json", toPath: d.incoming + "/a.json")
        #expect(try d.once(at: "2024-09-10T09:01:00Z").code == 0)
        #expect(try d.events().count == before)
        #expect(d.exists("spool/processed/a.json"))
        // An update (re-rated at once) and a close.
        try d.drop(
            "b.jsonl",
            """
            {"id":"R-1","person":"P-1","kind":"review","received":"2024-09-01","flags":["safeguarding_concern"]}
            {"id":"R-2","person":"P-2","kind":"review","received":"2024-09-01","status":"closed"}

            """)
        #expect(try d.once(at: "2024-09-10T09:02:00Z").code == 0)
        let tail = try d.events().dropFirst(before).map { "\($0.type) \($0.referral ?? "")" }
        #expect(tail.contains("referral.updated R-1"))
        #expect(tail.contains("referral.closed R-2"))
        #expect(tail.contains("triage.rerated R-1"))
        let store = try Store(path: d.db, readOnly: true)
        #expect(try store.referral("R-1")?.level == "red")
        #expect(try store.referral("R-2")?.state == "closed")
    }

    @Test func checkAndStartupErrors() throws {
        let d = try Deployment()
        #expect(try run("dutyd", ["--check", "--config", d.config]).code == 0)
        try "{ id: 'x' }".write(toFile: d.dir + "/policies/triage/zz.json5", atomically: true, encoding: .utf8)
        let bad = try run("dutyd", ["--check", "--config", d.config])
        #expect(bad.code == 65 && bad.err.contains("zz.json5:1:1: the triage policy is missing required key"))
        let once = try d.once(at: "2024-09-10T09:00:00Z")
        #expect(once.code == 65)
        #expect(try run("dutyd", ["--once", "--config", "/nonexistent/dutyd.conf"]).code == 66)
        #expect(try run("dutyd", ["--once", "--now", "next week", "--config", d.config]).code == 64)
    }

    @Test func readOnlyStateFolderFailsFastWithAClearError() throws {
        guard getuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let d = try Deployment()
        try FileManager.default.createDirectory(atPath: d.dir + "/state", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: d.dir + "/spool/processed", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: d.dir + "/spool/rejected", withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: d.dir + "/state")
        for p in ["", "/spool", "/spool/incoming", "/policies", "/policies/triage"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: d.dir + p)
        }
        let start = Date()
        let r =
            getuid() == 0
            ? try run(
                "/usr/bin/setpriv",
                [
                    "--reuid=65534", "--regid=65534", "--clear-groups", binDir + "/dutyd", "--once", "--config",
                    d.config,
                ], absolute: true)
            : try run("dutyd", ["--once", "--config", d.config])
        #expect(r.code != 0)
        #expect(r.err.contains("state folder") || r.err.contains("cannot"), "\(r.err)")
        #expect(Date().timeIntervalSince(start) < 5)
    }
}

@Suite struct NotifyCommandTests {
    @Test func escalationsRunTheNotifyCommandWithTheEventOnStdin() throws {
        let d = try Deployment()
        let script = d.dir + "/notify.sh"
        try "#!/bin/sh\ncat >> \(d.dir)/notified.jsonl\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "\(repositoryRoot)/systemd/roster.json5",
          notify_command: "notify.sh" }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        try d.drop(
            "a.jsonl",
            #"{"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-10T08:00:00Z","flags":["risk_to_life"]}"#
                + "\n")
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        // Not acknowledged within 4 hours: escalated to the deputy, and the command hears of it.
        let r = try d.once(at: "2024-09-10T13:30:00Z")
        #expect(r.code == 0)
        #expect(r.err.contains("escalation: SG-1 ack_overdue to w-101"))
        let notified = try String(contentsOfFile: d.dir + "/notified.jsonl", encoding: .utf8)
        // One message for the recipient, listing the escalation as its event.
        let message = try #require(JSONValue.parse(notified.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(message["type"]?.stringValue == "notification" && message["to"]?.stringValue == "w-101")
        #expect(message["count"]?.intValue == 1)
        guard case .array(let listed)? = message["escalations"], let event = listed.first else {
            Issue.record("no escalations in \(message)")
            return
        }
        #expect(event["type"]?.stringValue == "escalation.raised")
        #expect(event["referral"]?.stringValue == "SG-1")
        #expect(event["data"]?["reason"]?.stringValue == "ack_overdue")
        #expect(event["data"]?["to"]?.stringValue == "w-101")
    }
}

import DutyCore
import DutyStore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Notifications through `notify_command` with real hook scripts (issue 15): grouped per recipient, delivered from
/// the outbox, and never lost or fatal whatever the hook does.
@Suite(.serialized) struct DeliveryTests {
    /// A deployment whose notify_command is `script` (a shell script's body).
    func deployment(hook script: String, extra: String = "") throws -> Deployment {
        let d = try Deployment()
        try "#!/bin/sh\n\(script)\n".write(toFile: d.dir + "/hook.sh", atomically: true, encoding: .utf8)
        chmod(d.dir + "/hook.sh", 0o755)
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "\(repositoryRoot)/systemd/roster.json5",
          notify_command: "hook.sh", spool_settle: "0s", \(extra) }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        return d
    }

    /// Three red safeguarding concerns allocated at 09:00 and not acknowledged by 13:30: one message to the
    /// deputy listing all three.
    func escalate(_ d: Deployment) throws -> Result {
        try d.drop(
            "a.jsonl",
            (1...3).map {
                #"{"id":"SG-\#($0)","person":"P-\#($0)","kind":"safeguarding","received":"2024-09-10T08:00:00Z","flags":["risk_to_life"]}"#
            }.joined(separator: "\n") + "\n")
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        return try d.once(at: "2024-09-10T13:30:00Z")
    }

    func outbox(_ d: Deployment) throws -> OutboxState { try Store(path: d.db, readOnly: true).outboxState() }

    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func oneMessagePerRecipientPerCycle() throws {
        let d = try deployment(hook: "cat >> \"$(dirname \"$0\")/sent.jsonl\"")
        #expect(try escalate(d).code == 0)
        let sent = lines(d.dir + "/sent.jsonl")
        #expect(sent.count == 1, "\(sent)")
        let m = try #require(JSONValue.parse(sent[0]))
        #expect(m["to"]?.stringValue == "w-101" && m["count"]?.intValue == 3)
        #expect(m["by_reason"]?.serialized() == #"{"ack_overdue":3}"#)
        #expect(try outbox(d).pending == 0)
    }

    /// A hook that never reads its input (and exits at once) is at worst a failed delivery: dutyd carries on.
    @Test func aHookThatDoesNotReadItsInputNeverKillsTheDaemon() throws {
        let d = try deployment(hook: "exec 0<&-\nexit 0")
        let r = try escalate(d)
        #expect(r.code == 0, "\(r.err)")
        #expect(!r.err.contains("Fatal"))
        let state = try outbox(d)
        #expect(state.pending == 0 || state.retrying == 1, "sent, or kept for a retry: never dropped")
    }

    /// A hook that hangs (with a child of its own) is stopped at notify_timeout with its whole process group; the
    /// message stays queued.
    @Test func aHookThatHangsIsKilledWithItsGroupAndTheMessageKept() throws {
        let d = try deployment(hook: "cat > /dev/null\nsleep 4242 &\nwait", extra: #"notify_timeout: "2s""#)
        let start = Date()
        let r = try escalate(d)
        #expect(r.code == 0)
        #expect(Date().timeIntervalSince(start) < 15)
        #expect(r.err.contains("took over 2s and was stopped"), "\(r.err)")
        let state = try outbox(d)
        #expect(state.pending == 1 && state.retrying == 1)
        let left = try run("/usr/bin/pgrep", ["-f", "sleep 4242"], absolute: true)
        #expect(left.out.isEmpty, "the hook's child was killed with its group")
    }

    /// A hook that fails once and then works: the message is retried after notify_retry and delivered once.
    @Test func aFailedMessageIsRetriedAndDelivered() throws {
        let d = try deployment(
            hook: """
                dir="$(dirname "$0")"
                if [ ! -e "$dir/failed-once" ]; then touch "$dir/failed-once"; cat > /dev/null; exit 1; fi
                cat >> "$dir/sent.jsonl"
                """, extra: #"notify_retry: "1s""#)
        #expect(try escalate(d).code == 0)
        var state = try outbox(d)
        #expect(state.pending == 1 && state.retrying == 1 && state.lastError == "it exited 1")
        let status = try run("duty", ["--config", d.config, "status"])
        #expect(status.out.contains("notifications: 1 unsent"), "\(status.out)")
        usleep(1_300_000)
        #expect(try d.once(at: "2024-09-10T13:31:00Z").code == 0)
        state = try outbox(d)
        #expect(state.pending == 0)
        #expect(lines(d.dir + "/sent.jsonl").count == 1)
    }

    /// SIGTERM while messages wait: what was not sent stays in the outbox and goes out after the restart.
    @Test func sigtermKeepsTheQueueForTheNextStart() throws {
        let d = try deployment(hook: "sleep 0.3\ncat >> \"$(dirname \"$0\")/sent.jsonl\"")
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)  // creates the database
        let store = try Store(path: d.db)
        try store.write(at: Date()) { tx in
            for n in 1...12 { try tx.enqueue(recipient: "w-100", body: #"{"message":\#(n)}"#, at: Date()) }
        }
        let notify = try NotifySocket(path: d.dir + "/notify.sock")
        let p = try d.startDutyd(notify: notify)
        #expect(notify.wait(for: "READY=1") != nil)
        usleep(700_000)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let before = Set(lines(d.dir + "/sent.jsonl"))
        #expect(before.count < 12, "stopped with messages still queued")
        #expect(try outbox(d).pending >= 12 - before.count - 1)
        // The next start sends the rest.
        #expect(try d.once(at: "2024-09-10T09:05:00Z").code == 0)
        let after = Set(lines(d.dir + "/sent.jsonl"))
        #expect(after == Set((1...12).map { #"{"message":\#($0)}"# }), "every message delivered at least once")
        #expect(try outbox(d).pending == 0)
    }

    /// Messages for one person that wait together (a slow hook, a retry, `notify_group_wait`) go as one.
    @Test func messagesThatWaitedTogetherGoTogether() throws {
        let d = try deployment(hook: "cat >> \"$(dirname \"$0\")/sent.jsonl\"")
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        let store = try Store(path: d.db)
        try store.write(at: Date()) { tx in
            for n in 1...3 {
                let body =
                    #"{"type":"notification","at":"2024-09-10T09:0\#(n):00Z","to":"w-100","count":\#(n),"inhibited":0,"#
                    + #""alerts":[],"by_reason":{"ack_overdue":\#(n)},"by_level":{"red":\#(n)},"escalations":[],"folded":[]}"#
                try tx.enqueue(recipient: "w-100", body: body, at: Date())
            }
            try tx.enqueue(recipient: "w-200", body: #"{"type":"notification","to":"w-200","count":1}"#, at: Date())
        }
        #expect(try d.once(at: "2024-09-10T09:05:00Z").code == 0)
        let sent = lines(d.dir + "/sent.jsonl").compactMap { JSONValue.parse($0) }
        #expect(sent.count == 2, "one for w-100, one for w-200")
        let merged = try #require(sent.first { $0["to"]?.stringValue == "w-100" })
        #expect(merged["count"]?.intValue == 6 && merged["messages"]?.intValue == 3)
        #expect(merged["by_reason"]?.serialized() == #"{"ack_overdue":6}"#)
        #expect(merged["at"]?.stringValue == "2024-09-10T09:03:00Z")
        #expect(try outbox(d).pending == 0)
    }

    /// The hook gets a clean environment (none of systemd's variables for dutyd) and its chatter is capped.
    @Test func theHookHasACleanEnvironmentAndCappedOutput() throws {
        let d = try deployment(
            hook: """
                env > "$(dirname "$0")/env.txt"
                head -c 8000000 /dev/zero | tr '\\0' x >&2
                cat > /dev/null
                """)
        try d.drop(
            "a.jsonl",
            #"{"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-10T08:00:00Z","flags":["risk_to_life"]}"#
                + "\n")
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        let r = try run(
            "dutyd", ["--config", d.config, "--once", "--now", "2024-09-10T13:30:00Z"],
            environment: ["NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"])
        #expect(r.code == 0)
        let env = try String(contentsOfFile: d.dir + "/env.txt", encoding: .utf8)
        #expect(!env.contains("NOTIFY_SOCKET") && !env.contains("WATCHDOG_"))
        #expect(r.err.utf8.count < 20_000, "8 MB of stderr is not copied into the log")
    }
}

/// `duty inbox` folds like the notifications: top-rank rows by name up to 50, the rest counted, `--all` lists every
/// row.
@Suite(.serialized) struct InboxFoldingTests {
    @Test func aLongInboxFoldsBelowTheTopRank() throws {
        let d = try Deployment()
        let me = String(cString: getpwuid(getuid())!.pointee.pw_name)
        try """
        { services: [{ id: "asc", name: "ASC", head: "w-1" }],
          teams: [{ id: "reviewing", name: "Reviewing", service: "asc", manager: "w-1", kinds: ["review"] }],
          workers: [{ id: "w-1", name: "Team Manager", unix_user: "\(me)", team: "reviewing", role: "team_manager" }] }
        """.write(toFile: d.dir + "/roster.json5", atomically: true, encoding: .utf8)
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "roster.json5", spool_settle: "0s" }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        var lines = (0..<60).map {
            #"{"id":"RV-\#($0)","person":"P-\#($0)","kind":"review","received":"2024-06-01","flags":["annual_review"]}"#
        }
        lines += (0..<55).map {
            #"{"id":"RED-\#($0)","person":"Q-\#($0)","kind":"review","received":"2024-09-01","flags":["safeguarding_concern"]}"#
        }
        try d.drop("a.jsonl", lines.joined(separator: "\n") + "\n")
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        let table = try run("duty", ["--config", d.config, "inbox"])
        #expect(table.code == 0, "\(table.err)")
        #expect(table.out.contains("RED-0") && table.out.contains("RED-1"), "\(table.out)")
        #expect(!table.out.contains("RV-1 ") && table.out.contains("(60 referrals)"), "\(table.out)")
        // Top-rank rows by name only up to 50: 55 red reviews show 50 and fold 5 (100,000 waiting red were 178,546
        // lines).
        let named = table.out.split(separator: "\n").filter { $0.hasPrefix("RED-") }
        #expect(named.count == 50 && table.out.contains("(5 referrals)"), "\(table.out)")
        let all = try run("duty", ["--config", d.config, "inbox", "--all"])
        #expect(all.out.contains("RV-59"))
        let json = try run("duty", ["--config", d.config, "inbox", "--format", "json"])
        #expect(json.out.split(separator: "\n").count >= 115, "JSON lists every row")
    }
}

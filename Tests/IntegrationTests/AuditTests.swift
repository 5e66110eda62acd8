import DutyCore
import DutyStore
import Foundation
import Testing

/// An audit trail a third party can check: heads published to the journal find a cut tail; `--deep` finds a
/// projection edited behind the log's back.
@Suite(.serialized) struct AuditTests {
    func referrals(_ ids: ClosedRange<Int>) -> String {
        ids.map { #"{"id":"SG-\#($0)","person":"P-\#($0)","kind":"safeguarding","received":"2024-09-10T08:00:00Z"}"# }
            .joined(separator: "\n") + "\n"
    }

    @Test func aCutTailIsFoundAgainstTheHeadsDutydPublished() throws {
        let d = try Deployment()
        try d.drop("a.jsonl", referrals(1...3))
        let first = try d.once(at: "2024-09-10T09:00:00Z")
        try d.drop("b.jsonl", referrals(4...6))
        let second = try d.once(at: "2024-09-10T10:00:00Z")
        // dutyd logs the head after each cycle that wrote: the journal keeps what the database's writer cannot
        // rewrite.
        let journal = first.err + second.err
        let heads = journal.split(separator: "\n").filter { $0.contains("log head ") }
        #expect(heads.count == 2, "\(journal)")
        let head = try #require(try d.events().last)
        #expect(heads.last?.hasSuffix("log head \(head.seq):\(head.hash)") == true)
        let anchors = d.dir + "/journal.txt"
        try journal.write(toFile: anchors, atomically: true, encoding: .utf8)
        #expect(try run("duty", ["--config", d.config, "verify", "--anchors", anchors]).code == 0)

        // Cut the last event (as someone with the database file could): the chain alone still verifies.
        let db = try Database(.file(d.db))
        try db.execute("DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = \(head.seq)")
        #expect(try run("duty", ["--config", d.config, "verify"]).code == 0)
        let cut = try run("duty", ["--config", d.config, "verify", "--anchors", anchors])
        #expect(cut.code == 65)
        #expect(cut.err.contains("a head at seq \(head.seq) was published: events have been removed from the end"))
        // From standard input, as `journalctl -u dutyd -o cat | duty verify --anchors -`.
        let piped = try run("duty", ["--config", d.config, "verify", "--anchors", "-"], stdin: journal)
        #expect(piped.code == 65)
        // A rewritten event (same seq, another hash) is found too.
        try db.execute("DELETE FROM events")
        #expect(try run("duty", ["--config", d.config, "verify", "--anchors", anchors]).code == 65)
        let none = try run("duty", ["--config", d.config, "verify", "--anchors", "/dev/null"])
        #expect(none.code == 65 && none.err.contains("no published heads"))
    }

    @Test func anEditedProjectionIsFoundByDeepVerify() throws {
        let d = try Deployment()
        try d.drop("a.jsonl", referrals(1...3))
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        let clean = try run("duty", ["--config", d.config, "verify", "--deep"])
        #expect(clean.code == 0 && clean.out.contains("every projection matches the log"), "\(clean.err)")
        // Close a referral behind the log's back: dutyd would stop allocating it; the chain is untouched.
        let db = try Database(.file(d.db))
        try db.execute("UPDATE referrals SET state = 'closed' WHERE id = 'SG-2'")
        #expect(try run("duty", ["--config", d.config, "verify"]).code == 0)
        let deep = try run("duty", ["--config", d.config, "verify", "--deep"])
        #expect(deep.code == 65)
        #expect(deep.err.contains("referrals (1 changed, 0 extra, 0 missing)"), "\(deep.err)")
        #expect(deep.err.contains("'SG-2': state: 'closed' in the database, 'allocated' from the log"), "\(deep.err)")
        let json = try run("duty", ["--config", d.config, "verify", "--deep", "--format", "json"])
        let report = try #require(JSONValue.parse(json.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        guard case .array(let tables)? = report["projections"] else {
            Issue.record("no projections in \(json.out)")
            return
        }
        #expect(report["ok"]?.boolValue == false && tables.first?["table"]?.stringValue == "referrals")
    }

    /// Damage is reported as damage: the file, what is wrong, what to do, exit 65.
    @Test func damageIsReportedAsDamage() throws {
        let d = try Deployment()
        try d.drop("a.jsonl", referrals(1...3))
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        // dutyd has stopped; copy the write-ahead log into the file (as dutyd does as it runs), then damage the
        // file: truncated, then a zeroed page.
        try Database(.file(d.db)).execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: d.db)[.size] as? Int)
        let original = try Data(contentsOf: URL(fileURLWithPath: d.db))
        try original.prefix(size / 2).write(to: URL(fileURLWithPath: d.db))
        let truncated = try run("duty", ["--config", d.config, "verify"])
        #expect(truncated.code == 65, "\(truncated.err)")
        #expect(truncated.err.contains("the database '\(d.db)' is damaged") && truncated.err.contains("restore"))
        var zeroed = original
        zeroed.replaceSubrange(8_192..<16_384, with: Data(count: 8_192))
        try zeroed.write(to: URL(fileURLWithPath: d.db))
        let page = try run("duty", ["--config", d.config, "waiting"])
        #expect(page.code == 65 && page.err.contains("is damaged"), "\(page.err)")
        // A copy without its -shm file, in a folder its reader cannot write: what is missing and what to do.
        try original.write(to: URL(fileURLWithPath: d.db))
        let copy = d.dir + "/copy"
        try FileManager.default.createDirectory(atPath: copy + "/state", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: d.db, toPath: copy + "/state/duty.db")
        try FileManager.default.copyItem(
            atPath: repositoryRoot + "/systemd/roster.json5", toPath: copy + "/roster.json5")
        try
            "{ state_dir: \"\(copy)/state\", spool_dir: \"\(copy)/spool\", policies: \"\(d.dir)/policies\", roster: \"\(copy)/roster.json5\" }"
            .write(toFile: copy + "/dutyd.conf", atomically: true, encoding: .utf8)
        for (path, mode) in [(d.dir, 0o755), (copy, 0o755), (copy + "/state", 0o755), (copy + "/state/duty.db", 0o644)]
        {
            chmod(path, mode_t(mode))
        }
        chmod(copy + "/dutyd.conf", 0o644)
        chmod(copy + "/roster.json5", 0o644)
        let asNobody = try run(
            "/usr/bin/setpriv",
            [
                "--reuid=65534", "--regid=65534", "--clear-groups", binDir + "/duty", "--config", copy + "/dutyd.conf",
                "verify",
            ],
            absolute: true)
        #expect(asNobody.code == 77 && asNobody.err.contains("-wal and -shm files"), "\(asNobody.err)")
        // A write that the operating system refuses names the file and what to do.
        let io = Store.explain(
            SQLiteError(code: 778, message: "disk I/O error"), path: "/var/lib/duty/duty.db", readOnly: false)
        #expect(io.message.contains("'/var/lib/duty/duty.db'") && io.message.contains("read-only"))
        #expect(io.message.contains("nothing accepted was lost"))
    }
}

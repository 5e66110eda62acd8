import DutyCore
import DutyStore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two-way integration with a case system, with the real dutyd and the stub: referrals pulled over HTTP arrive
/// exactly once across a crash; a failing endpoint leaves dutyd cycling and the spool working; decisions reach
/// the receiver once each after deduplication by seq, in order per referral, across a restart; the token is never
/// written anywhere.
@Suite(.serialized) struct CaseSystemTests {
    func record(_ id: String) -> String {
        #"{"id":"\#(id)","person":"P-\#(id)","kind":"review","received":"2024-09-01","flags":["annual_review"]}"#
    }

    /// A deployment pulling from `stub` every second, 100 referrals a page, writing decisions back to it and to
    /// a folder; the token in a file beside the config.
    func deployment(_ stub: CaseSystemStub, writeBack: Bool = false, timeout: String = "5s") throws -> Deployment {
        let d = try Deployment(cycle: "1h")
        try stub.token.write(toFile: d.dir + "/token", atomically: true, encoding: .utf8)
        let back =
            writeBack
            ? #", write_back: { dir: "outbox", url: "\#(stub.decisionsURL)", token_file: "token" }"# : ""
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "\(repositoryRoot)/systemd/roster.json5",
          cycle: "1h", spool_settle: "0s",
          source: { url: "\(stub.url)", every: "1s", token_file: "token", page_size: 100, timeout: "\(timeout)" }\(back) }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        return d
    }

    func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    @Test func everyReferralArrivesOnceAcrossAKillAndARestart() throws {
        guard CaseSystemStub.available else { return }
        let stub = try CaseSystemStub()
        defer { stub.stop() }
        let ids = (1...1_500).map { "RV-\($0)" }
        try stub.serve(ids.map(record))
        try stub.set(mode: "slow")  // fifteen pages take a few seconds: the kill lands mid-way
        let d = try deployment(stub)
        let notify = try NotifySocket(path: d.dir + "/notify.sock")
        let err = Pipe()
        var p = try d.startDutyd(notify: notify, stderr: err)
        // Killed without warning once a few pages have been asked for: mid-way through the backlog.
        #expect(waitFor(20) { stub.requests().filter { $0.hasPrefix("GET") }.count >= 4 })
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        p = try d.startDutyd(notify: notify)
        let arrived = try waitFor(30) {
            try Store(path: d.db, readOnly: true).log(LogFilter(type: "referral.received")).count >= ids.count
        }
        #expect(arrived)
        usleep(1_500_000)  // a further pass or two: nothing more arrives
        let received = try d.events().filter { $0.type == "referral.received" }.compactMap(\.referral)
        #expect(received.count == ids.count && Set(received) == Set(ids), "each exactly once")
        // The cursor only moves forward, and every referral names the page it came from.
        let pages = try d.events().filter { $0.type == "source.page" }
        let cursors = pages.compactMap { $0.dataValue["cursor"]?.stringValue }.compactMap { Int($0.dropFirst()) }
        #expect(cursors == cursors.sorted() && cursors.last == ids.count)
        let first = try #require(try d.events().first { $0.type == "referral.received" })
        #expect(first.dataValue["source"]?.stringValue?.hasPrefix(stub.url + "?limit=100") == true)
        #expect(stub.requests().allSatisfy { $0.hasSuffix("auth=True") })
        // No token in the log or the journal (read once the second dutyd, which inherited the pipe, has gone).
        p.terminate()
        p.waitUntilExit()
        let log = try run("duty", ["--config", d.config, "log", "--format", "json"]).out
        let journal = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!log.contains(stub.token) && !journal.contains(stub.token))
    }

    @Test func aFailingSourceLeavesDutydCyclingAndTheSpoolWorking() throws {
        guard CaseSystemStub.available else { return }
        let stub = try CaseSystemStub()
        defer { stub.stop() }
        try stub.serve([record("RV-1")])
        try stub.set(mode: "500")
        let d = try deployment(stub, timeout: "2s")
        let notify = try NotifySocket(path: d.dir + "/notify.sock")
        let err = Pipe()
        let p = try d.startDutyd(notify: notify, stderr: err)
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        #expect(notify.wait(for: "READY=1") != nil)
        func status() throws -> String { try run("duty", ["--config", d.config, "status"]).out }
        for (mode, says) in [("500", "HTTP 500"), ("garbage", "not JSON"), ("hang", "no answer within 2 s")] {
            try stub.set(mode: mode)
            let shown = try waitFor(15) { try status().contains(says) }
            #expect(shown, "\(mode): \((try? status()) ?? "")")
            // The spool keeps working and a cycle completes while the source fails.
            try d.drop("\(mode).jsonl", record("SP-\(mode)") + "\n")
            let started = Date()
            #expect(try run("duty", ["--config", d.config, "cycle"]).code == 0)
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(d.exists("spool/processed/\(mode).jsonl"))
        }
        #expect(try status().contains("source: failing since"))
        try stub.set(mode: "ok")
        #expect(try waitFor(20) { try d.events().contains { $0.referral == "RV-1" && $0.type == "referral.received" } })
        let recovered = try waitFor(5) { try status().contains("source: ok") }
        #expect(recovered, "\((try? status()) ?? "")")
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let journal = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(journal.contains("source: ") && journal.contains("HTTP 500") && journal.contains("answers again"))
        #expect(!journal.contains(stub.token))
    }

    @Test func decisionsReachTheReceiverOnceEachInOrderAcrossARestart() throws {
        guard CaseSystemStub.available else { return }
        let stub = try CaseSystemStub()
        defer { stub.stop() }
        let d = try deployment(stub, writeBack: true)
        try d.makeMeTheSafeguardingManager()
        // makeMeTheSafeguardingManager rewrote the config: put the source and write-back back.
        let config = try String(contentsOfFile: d.config, encoding: .utf8)
        try config.replacingOccurrences(
            of: #"cycle: "1h" }"#,
            with:
                #"cycle: "1h", spool_settle: "0s", write_back: { dir: "outbox", url: "\#(stub.decisionsURL)", token_file: "token" } }"#
        ).write(toFile: d.config, atomically: true, encoding: .utf8)
        try d.drop(
            "a.jsonl",
            (1...6).map {
                #"{"id":"SG-\#($0)","person":"P-\#($0)","kind":"safeguarding","received":"2024-09-10T08:00:00Z"}"#
            }.joined(separator: "\n") + "\n")
        let notify = try NotifySocket(path: d.dir + "/notify.sock")
        var p = try d.startDutyd(notify: notify)
        #expect(notify.wait(for: "READY=1") != nil)
        #expect(waitFor(10) { !stub.decisions().isEmpty })
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        p = try d.startDutyd(notify: notify)
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        #expect(notify.wait(for: "READY=1") != nil)
        // More decisions after the restart: a manager takes one back and gives it to someone else.
        #expect(
            try run("duty", ["--config", d.config, "unassign", "SG-1", "--reason", "conflict of interest"]).code == 0)
        #expect(
            try run("duty", ["--config", d.config, "assign", "SG-1", "w-114", "--reason", "domestic abuse"]).code == 0)
        let types: Set<String> = [
            "allocation.assigned", "allocation.blocked", "override.assigned", "override.unassigned", "override.rerated",
            "referral.closed", "triage.rated", "triage.rerated", "escalation.raised",
        ]
        let expected = try d.events().filter { types.contains($0.type) }
        #expect(expected.contains { $0.type == "override.assigned" })
        #expect(waitFor(15) { Set(stub.decisions().compactMap { $0["seq"]?.intValue }) == Set(expected.map(\.seq)) })
        // After deduplication by seq: each decision once, with its hash, in order per referral.
        var bySeq: [Int64: JSONValue] = [:]
        var order: [String: [Int64]] = [:]
        for line in stub.decisions() {
            guard let seq = line["seq"]?.intValue else { continue }
            if bySeq[seq] == nil, let r = line["referral"]?.stringValue { order[r, default: []].append(seq) }
            bySeq[seq] = line
        }
        for e in expected { #expect(bySeq[e.seq]?["hash"]?.stringValue == e.hash) }
        for (_, seqs) in order { #expect(seqs == seqs.sorted()) }
        // The folder holds the same decisions, one file per write that decided something.
        let files = try FileManager.default.contentsOfDirectory(atPath: d.dir + "/outbox").filter {
            $0.hasSuffix(".jsonl")
        }.sorted()
        let inFiles = try files.flatMap { f in
            try String(contentsOfFile: d.dir + "/outbox/" + f, encoding: .utf8).split(separator: "\n")
                .compactMap { JSONValue.parse(String($0))?["seq"]?.intValue }
        }
        #expect(Set(inFiles) == Set(expected.map(\.seq)) && inFiles == inFiles.sorted())
        let status = try run("duty", ["--config", d.config, "status"]).out
        #expect(status.contains("write-back: up to date"), "\(status)")
    }
}

import DutyCore
import DutyStore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized) struct FaultTests {
    /// dutyd is killed with SIGKILL at random moments while it reads the spool and runs its cycle, 200 times
    /// (1,000 with DUTY_LONG=1). Afterwards every referral of every file is in the log exactly once, the chain
    /// verifies, and every file has moved out of incoming/.
    @Test func sigkillDuringIntakeAndCyclesLosesNothing() throws {
        let kills = ProcessInfo.processInfo.environment["DUTY_LONG"] == "1" ? 1_000 : 200
        let d = try Deployment(cycle: "1h")
        var rng = SplitMix64(seed: 42)
        var ids: [String] = []
        var killedBusy = 0
        for k in 0..<kills {
            let batch = (0..<20).map { i in "K\(k)-\(i)" }
            ids += batch
            let lines = batch.map {
                #"{"id":"\#($0)","person":"P-\#($0)","kind":"review","received":"2024-09-01","flags":["annual_review"],"complexity":\#(1 + rng.int(0...4))}"#
            }
            try d.drop("k\(k).jsonl", lines.joined(separator: "\n") + "\n")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binDir + "/dutyd")
            p.arguments = ["--config", d.config]
            p.standardError = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            usleep(UInt32(rng.int(2_000...120_000)))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if d.exists("spool/incoming/k\(k).jsonl") { killedBusy += 1 }
        }
        // A last clean cycle takes whatever the kills left behind.
        #expect(try d.once(at: "2024-09-10T09:00:00Z").code == 0)
        let store = try Store(path: d.db, readOnly: true)
        #expect(try store.verify().ok)
        let received = try store.log(LogFilter(type: "referral.received"))
        var count: [String: Int] = [:]
        for e in received { count[e.referral ?? "", default: 0] += 1 }
        let lost = ids.filter { count[$0] == nil }
        let duplicated = count.filter { $0.value > 1 }.map(\.key)
        #expect(lost.isEmpty, "lost: \(lost.prefix(5))")
        #expect(duplicated.isEmpty, "duplicated: \(duplicated.prefix(5))")
        let left = try FileManager.default.contentsOfDirectory(atPath: d.incoming).filter { !$0.hasPrefix(".") }
        #expect(left.isEmpty)
        #expect(killedBusy > kills / 10, "\(killedBusy) kills landed before the file was moved")
    }

    /// Ten readers run `duty` in a loop while dutyd cycles: none sees a busy database.
    @Test func readersDuringCyclesNeverSeeBusy() throws {
        let daemon = try RunningDaemon()
        let d = daemon.d
        let lines = (0..<300).map {
            #"{"id":"C-\#($0)","person":"P-\#($0)","kind":"care_act_assessment","received":"2024-09-0\#(1 + $0 % 9)"}"#
        }
        try d.drop("a.jsonl", lines.joined(separator: "\n") + "\n")
        let failures = FailureLog()
        let group = DispatchGroup()
        for r in 0..<10 {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                for i in 0..<8 {
                    let args = [
                        ["waiting", "--format", "json"], ["stats"], ["log", "-n", "50"], ["show", "C-\(r * 10 + i)"],
                    ][i % 4]
                    if let res = try? run("duty", ["--config", d.config] + args), res.code != 0 && res.code != 66 {
                        failures.add(res.err)
                    }
                }
            }
        }
        for _ in 0..<10 {
            kill(daemon.process.processIdentifier, SIGUSR1)
            usleep(30_000)
        }
        group.wait()
        #expect(failures.values.isEmpty, "\(failures.values.prefix(3))")
        _ = daemon.stop()
    }
}

/// Collects failure messages from several threads.
final class FailureLog: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ m: String) { lock.withLock { messages.append(m) } }
    var values: [String] { lock.withLock { messages } }
}

@Suite(.serialized) struct DiskFullTests {
    /// With the state folder on a small tmpfs filled up, a cycle fails, says so in STATUS and the log, accepts
    /// nothing (the file stays in incoming/), and the next cycle after space returns accepts it all.
    @Test func diskFullStopsIntakeAndRecovers() throws {
        guard getuid() == 0 else {
            print("skipped: the disk-full test mounts a tmpfs, which needs root")
            return
        }
        let d = try Deployment(cycle: "1h")
        let state = d.dir + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        guard mountTmpfs(state, size: "24m") else {
            print("skipped: cannot mount a tmpfs here")
            return
        }
        defer { umount2(state, Int32(MNT_DETACH)) }
        let notify = try NotifySocket(path: d.dir + "/notify.sock")
        let err = Pipe()
        let p = try d.startDutyd(notify: notify, stderr: err)
        defer { if p.isRunning { p.terminate() } }
        #expect(notify.wait(for: "READY=1") != nil)
        // Fill the disk, leaving a few KB.
        var fs = statvfs()
        statvfs(state, &fs)
        let free = Int(fs.f_bavail) * Int(fs.f_frsize)
        let filler = state + "/filler"
        _ = FileManager.default.createFile(atPath: filler, contents: Data(count: max(0, free - 16 * 1024)))
        let lines = (0..<3_000).map {
            #"{"id":"F-\#($0)","person":"P-\#($0)","kind":"review","received":"2024-09-01","facts":{"note":"\#(String(repeating: "x", count: 100))"}}"#
        }
        try d.drop("big.jsonl", lines.joined(separator: "\n") + "\n")
        kill(p.processIdentifier, SIGUSR1)
        let full = notify.wait(for: "STATUS=error")
        #expect(full?.last?.contains("disk holding the database is full") == true, "\(full ?? [])")
        #expect(d.exists("spool/incoming/big.jsonl"), "nothing accepted, nothing moved")
        // Space returns: the next cycle accepts everything.
        try FileManager.default.removeItem(atPath: filler)
        kill(p.processIdentifier, SIGUSR1)
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, let m = notify.receive(timeout: deadline.timeIntervalSinceNow) {
            seen.append(m)
            if m.hasPrefix("STATUS=waiting") { break }
        }
        #expect(seen.last?.hasPrefix("STATUS=waiting") == true, "\(seen)")
        #expect(d.exists("spool/processed/big.jsonl"))
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("cycle failed: the disk holding the database is full"))
        let store = try Store(path: d.db, readOnly: true)
        #expect(try store.verify().ok)
        #expect(try store.log(LogFilter(type: "referral.received")).count == 3_000)
    }

    func mountTmpfs(_ path: String, size: String) -> Bool {
        mount("tmpfs", path, "tmpfs", 0, "size=\(size)") == 0
    }
}

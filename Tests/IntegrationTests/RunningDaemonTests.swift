import DutyCore
import DutyStore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
final class NotifySocket {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The next message, or nil after `timeout` seconds.
    func receive(timeout: Double) -> String? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    /// Messages until one contains `text` (returned last), or nil after `timeout` seconds.
    func wait(for text: String, timeout: Double = 15) -> [String]? {
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let m = receive(timeout: deadline.timeIntervalSinceNow) else { break }
            seen.append(m)
            if m.contains(text) { return seen }
        }
        return nil
    }
}

@Suite(.serialized) struct RunningDaemonTests {
    @Test func notifySignalsReloadAndStop() throws {
        let d = try Deployment(cycle: "1h")
        let notify = try NotifySocket(path: d.dir + "/notify.sock")
        let err = Pipe()
        let p = try d.startDutyd(
            notify: notify, environment: ["WATCHDOG_USEC": "300000", "JOURNAL_STREAM": "8:1234"], stderr: err)
        defer { if p.isRunning { p.terminate() } }

        // READY=1 once the database is open and the first cycle has run; STATUS= after it.
        let startup = try #require(notify.wait(for: "READY=1"), "no READY=1")
        #expect(startup.contains { $0.hasPrefix("STATUS=waiting 0") })

        // WATCHDOG=1 at half of WATCHDOG_USEC: about 6 in a second.
        var pings = 0
        let until = Date().addingTimeInterval(1.0)
        while Date() < until {
            if let m = notify.receive(timeout: until.timeIntervalSinceNow), m == "WATCHDOG=1" { pings += 1 }
        }
        #expect((4...8).contains(pings), "\(pings) pings")

        // SIGUSR1: a cycle now, which takes the new referral.
        try d.drop(
            "a.jsonl",
            #"{"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-10T08:00:00Z","flags":["risk_to_life"]}"#
                + "\n")
        kill(p.processIdentifier, SIGUSR1)
        let cycled = try #require(notify.wait(for: "allocated 1 this cycle"), "no STATUS after SIGUSR1")
        #expect(cycled.last?.hasPrefix("STATUS=") == true)

        // SIGHUP with a broken policy: RELOADING, then READY, still running on the old set.
        try "{ id: 'broken'".write(
            toFile: d.dir + "/policies/triage/safeguarding.json5", atomically: true, encoding: .utf8)
        kill(p.processIdentifier, SIGHUP)
        let reload = try #require(notify.wait(for: "READY=1"), "no READY after SIGHUP")
        #expect(reload.contains { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") })
        #expect(p.isRunning)

        // SIGTERM: STOPPING, exit 0, the log closed cleanly.
        kill(p.processIdentifier, SIGTERM)
        #expect(notify.wait(for: "STOPPING=1") != nil)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0 && p.terminationReason == .exit)
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("<3>reload failed, still running on the previous configuration"))
        #expect(log.contains("<5>dutyd stopping"))
        let store = try Store(path: d.db, readOnly: true)
        let types = try store.log().map(\.type)
        #expect(types.first == "config.loaded")
        #expect(types.contains("daemon.started") && types.last == "daemon.stopped")
        #expect(try store.verify().ok)
        #expect(try store.referral("SG-1")?.state == "allocated")
    }

    @Test func aHungCycleStopsTheWatchdog() throws {
        // The test hook makes each cycle take 1.5 s; pings come from the cycle queue, so they stop meanwhile.
        let d = try Deployment(cycle: "1h")
        let notify = try NotifySocket(path: d.dir + "/notify.sock")
        let p = try d.startDutyd(
            notify: notify, environment: ["WATCHDOG_USEC": "200000", "DUTYD_TEST_CYCLE_SLEEP": "1.5"])
        defer { p.terminate() }
        #expect(notify.wait(for: "READY=1") != nil)
        #expect(notify.wait(for: "WATCHDOG=1", timeout: 1) != nil, "pings between cycles")
        kill(p.processIdentifier, SIGUSR1)
        // Let the queue take the cycle, then listen: nothing until it ends.
        usleep(200_000)
        while notify.receive(timeout: 0.01) != nil {}
        var during: [String] = []
        let until = Date().addingTimeInterval(1.0)
        while Date() < until { if let m = notify.receive(timeout: until.timeIntervalSinceNow) { during.append(m) } }
        #expect(!during.contains("WATCHDOG=1"), "\(during)")
        #expect(notify.wait(for: "WATCHDOG=1", timeout: 2) != nil, "pings resume after the cycle")
    }
}

@Suite(.serialized) struct StopAndDemoTests {
    @Test func sigtermDuringACycleFinishesItAndExitsZero() throws {
        let d = try Deployment(cycle: "1h")
        let notify = try NotifySocket(path: d.dir + "/notify.sock")
        let p = try d.startDutyd(notify: notify, environment: ["DUTYD_TEST_CYCLE_SLEEP": "1"])
        #expect(notify.wait(for: "READY=1") != nil)
        let lines = (0..<200).map {
            #"{"id":"T-\#($0)","person":"P-\#($0)","kind":"review","received":"2024-09-01","flags":["annual_review"]}"#
        }
        try d.drop("a.jsonl", lines.joined(separator: "\n") + "\n")
        kill(p.processIdentifier, SIGUSR1)
        usleep(300_000)  // the cycle is under way (it sleeps 1 s before its work)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        let store = try Store(path: d.db, readOnly: true)
        #expect(try store.log(LogFilter(type: "referral.received")).count == 200, "the cycle in progress finished")
        #expect(try store.log().last?.type == "daemon.stopped")
        #expect(try store.verify().ok)
        #expect(d.exists("spool/processed/a.jsonl"))
    }

    @Test func theDemoShowsRatingAllocationARejectionAndAFallback() throws {
        let (dir, told, log) = try runDemo()
        #expect(told.contains("duty --config \(dir)/duty-demo/dutyd.conf"))
        #expect(log.contains("bad record rejected"))
        #expect(log.contains("accountable: w-101 (manager_absent)"))
        let store = try Store(path: dir + "/duty-demo/state/duty.db", readOnly: true)
        #expect(try store.log(LogFilter(type: "triage.rated")).count >= 2)
        #expect(try store.log(LogFilter(type: "allocation.assigned")).count >= 2)
        // Its first cycle already shows the job under pressure: blocked work, escalations, a waiting list, and
        // teams over capacity.
        #expect(try store.log(LogFilter(type: "allocation.blocked")).count >= 1)
        #expect(try store.log(LogFilter(type: "escalation.raised")).count >= 1)
        #expect(try store.log(LogFilter(type: "capacity.exceeded")).count >= 1)
        #expect(try !store.waiting().isEmpty)
        // The invoking login is the safeguarding deputy in the demo's roster, so manager commands work for them.
        let me = String(cString: getpwuid(getuid())!.pointee.pw_name)
        let roster = try String(contentsOfFile: dir + "/duty-demo/roster.json5", encoding: .utf8)
        #expect(roster.contains(#"unix_user: "\#(me)""#))
        #expect(told.contains("You (\(me)) are w-101"))
    }
}

/// Runs `dutyd --demo` as a newcomer would, in a fresh folder holding the repository's policies and example roster,
/// until it tells systemd it is ready (its first cycle done), then stops it with Ctrl-C. Returns the folder (the
/// demo is in `duty-demo/` under it), what it printed and its journal.
func runDemo() throws -> (dir: String, out: String, log: String) {
    let dir = try tempDir()
    try FileManager.default.createSymbolicLink(
        atPath: dir + "/policies", withDestinationPath: repositoryRoot + "/policies")
    try FileManager.default.createDirectory(atPath: dir + "/systemd", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
        atPath: dir + "/systemd/roster.json5", withDestinationPath: repositoryRoot + "/systemd/roster.json5")
    let notify = try NotifySocket(path: dir + "/notify.sock")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binDir + "/dutyd")
    p.arguments = ["--demo"]
    p.currentDirectoryURL = URL(fileURLWithPath: dir)
    var env = ProcessInfo.processInfo.environment
    env["NOTIFY_SOCKET"] = notify.path
    p.environment = env
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    #expect(notify.wait(for: "READY=1") != nil)
    kill(p.processIdentifier, SIGINT)
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    let told = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (dir, told, log)
}

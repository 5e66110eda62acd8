import DutyControl
import DutyCore
import DutyStore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A running dutyd on a temp deployment whose safeguarding team manager (w-100) is the test's own user, so the
/// test can act as a manager; `nobody` stands for a caller outside the roster.
final class RunningDaemon {
    let d: Deployment
    let process: Process
    let notify: NotifySocket
    let err = Pipe()

    init() throws {
        d = try Deployment(cycle: "1h")
        let me = String(cString: getpwuid(getuid()).pointee.pw_name)
        let roster = try String(contentsOfFile: repositoryRoot + "/systemd/roster.json5", encoding: .utf8)
            .replacingOccurrences(of: #"unix_user: "mhale""#, with: #"unix_user: "\#(me)""#)
        try roster.write(toFile: d.dir + "/roster.json5", atomically: true, encoding: .utf8)
        try """
        { state_dir: "state", spool_dir: "spool", policies: "policies", roster: "roster.json5", cycle: "1h" }
        """.write(toFile: d.config, atomically: true, encoding: .utf8)
        notify = try NotifySocket(path: d.dir + "/notify.sock")
        process = try d.startDutyd(notify: notify, stderr: err)
        guard notify.wait(for: "READY=1") != nil else { throw POSIXError(.ETIMEDOUT) }
    }

    func duty(_ args: [String], asNobody: Bool = false) throws -> Result {
        if asNobody {
            return try run(
                "/usr/bin/setpriv",
                ["--reuid=65534", "--regid=65534", "--clear-groups", binDir + "/duty", "--config", d.config] + args,
                absolute: true)
        }
        return try run("duty", ["--config", d.config] + args)
    }

    /// `duty waiting` once it lists `id`: cycles are asked for (SIGUSR1) until it does, for up to 10 s.
    func waiting(until id: String) throws -> Result {
        var list = try duty(["waiting"])
        for _ in 0..<50 where !list.out.contains(id) {
            kill(process.processIdentifier, SIGUSR1)
            usleep(200_000)
            list = try duty(["waiting"])
        }
        return list
    }

    func stop() -> String {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    deinit { if process.isRunning { process.terminate() } }
}

@Suite(.serialized) struct ControlTests {
    /// A manager's pin (`duty rerate`) sets the level and due time the report measures against, as `duty stats`
    /// does: an amber pinned red and allocated two days after receipt is late.
    @Test func theReportMeasuresAPinnedReferralByItsPin() throws {
        let daemon = try RunningDaemon()
        let received = ISOTime.format(Date().addingTimeInterval(-2 * 86_400))
        try daemon.d.drop(
            "a.jsonl",
            #"{"id":"SG-1","person":"P-1","kind":"safeguarding","received":"\#(received)","flags":["deteriorating"],"skills":["sign_language"]}"#
                + "\n")
        let list = try daemon.waiting(until: "SG-1")
        #expect(list.out.contains("amber"), "\(list.out)")
        let pin = try daemon.duty(["rerate", "SG-1", "red", "--reason", "family call"])
        #expect(pin.code == 0, "\(pin.err)")
        let assign = try daemon.duty(["assign", "SG-1", "w-111", "--reason", "covering"])
        #expect(assign.code == 0, "\(assign.err)")
        let out = daemon.d.dir + "/report.html"
        let report = try daemon.duty(["report", "--from", "-7d", "--output", out])
        #expect(report.code == 0, "\(report.err)")
        let html = try String(contentsOfFile: out, encoding: .utf8)
        let row = html.components(separatedBy: "<td>Safeguarding Adults</td>")[1].components(separatedBy: "</tr>")[0]
        #expect(row.hasSuffix("<td class=\"n\">0%</td>"), "allocated after the pin's due time: \(row)")
        _ = daemon.stop()
    }

    /// With dutyd running and its last cycle recent, `duty waiting` adds no note about stale ratings.
    @Test func aFreshListHasNoStaleNote() throws {
        let daemon = try RunningDaemon()
        try daemon.d.drop(
            "a.jsonl",
            #"{"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-02","skills":["sign_language"]}"#
                + "\n")
        let list = try daemon.waiting(until: "SG-1")
        #expect(list.code == 0 && list.out.contains("SG-1"), "\(list.out)\(list.err)")
        #expect(!list.err.contains("note:"), "\(list.err)")
        _ = daemon.stop()
    }

    @Test func managerActsAndAbsenceShowsTheFallback() throws {
        let daemon = try RunningDaemon()
        let d = daemon.d
        // The manager records their own absence; the next allocation falls back to the deputy.
        let away = try daemon.duty(["absence", "add", "w-100", "--from", "-1d", "--to", "+7d", "--reason", "leave"])
        #expect(away.code == 0, "\(away.err)")
        #expect(away.out.hasPrefix("absence ABS-"))
        let list = try daemon.duty(["absence", "list", "--format", "json"])
        #expect(list.out.contains(#""worker":"w-100""#) && list.out.contains(#""reason":"leave""#))
        try d.drop(
            "a.jsonl",
            #"{"id":"SG-1","person":"P-1","kind":"safeguarding","received":"2024-09-10T08:00:00Z","flags":["risk_to_life"]}"#
                + "\n")
        let cycle = try daemon.duty(["cycle"])
        #expect(cycle.code == 0 && cycle.out.contains("allocated 1 this cycle"), "\(cycle.err)")
        let store = try Store(path: d.db, readOnly: true)
        let assigned = try #require(try store.timeline("SG-1").first { $0.type == "allocation.assigned" })
        #expect(assigned.dataValue["manager"]?.stringValue == "w-101")
        #expect(assigned.dataValue["fallback_reason"]?.stringValue == "manager_absent")
        // The manager overrides: over capacity and over a rule is allowed, and recorded.
        let over = try daemon.duty(["assign", "SG-1", "w-115", "--reason", "knows the family"])
        #expect(over.code == 0, "\(over.err)")
        let override = try #require(try store.timeline("SG-1").last)
        #expect(override.type == "override.assigned" && override.actor == "w-100")
        #expect(override.dataValue["from"]?.stringValue == "w-110" || override.dataValue["from"]?.stringValue != nil)
        #expect(try store.referral("SG-1")?.worker == "w-115")
        // Reasons are required; unknown referrals are not found.
        #expect(try daemon.duty(["assign", "SG-1", "w-111"]).code == 64)
        #expect(try daemon.duty(["ack", "NOPE"]).code == 66)
        #expect(try daemon.duty(["rerate", "SG-1", "amber", "--reason", "checked"]).code == 0)
        #expect(try store.referral("SG-1")?.pinLevel == "amber")
        #expect(try daemon.duty(["rerate", "SG-1", "--clear"]).code == 0)
        #expect(try store.referral("SG-1")?.pinLevel == nil)
        let log = daemon.stop()
        #expect(log.contains("control: w-100"))
        #expect(try store.verify().ok)
    }

    @Test func refusedCallersAndAStoppedDaemon() throws {
        guard getuid() == 0 else { return }  // needs root to run the client as another user
        let daemon = try RunningDaemon()
        let d = daemon.d
        // Without the socket's group, nobody cannot connect at all.
        let blocked = try daemon.duty(["cycle"], asNobody: true)
        #expect(blocked.code == 77 && blocked.err.contains("socket_group"), "\(blocked.err)")
        // Given access to the socket, nobody is still not in the roster: refused, and told who may.
        for dir in [d.dir, d.dir + "/state"] { chmod(dir, 0o755) }
        chmod(d.dir + "/state/dutyd.sock", 0o666)
        let refused = try daemon.duty(["assign", "X-1", "w-110", "--reason", "r"], asNobody: true)
        #expect(refused.code == 66 || refused.code == 77)
        try d.drop(
            "a.jsonl", #"{"id":"SG-2","person":"P-2","kind":"safeguarding","received":"2024-09-10T08:00:00Z"}"# + "\n")
        #expect(try daemon.duty(["cycle"]).code == 0)
        let denied = try daemon.duty(["assign", "SG-2", "w-112", "--reason", "r"], asNobody: true)
        #expect(denied.code == 77)
        #expect(denied.err.contains("only the accountable chain may assign SG-2: w-100, w-101, w-901, w-902, w-900"))
        #expect(try daemon.duty(["cycle"], asNobody: true).code == 77)
        let log = daemon.stop()
        #expect(log.contains("refused assign SG-2 from nobody"))
        // The daemon is gone: writes say so and exit 69.
        let down = try run("duty", ["--config", d.config, "cycle"])
        #expect(down.code == 69)
        #expect(down.err == "duty: dutyd is not running (systemctl start dutyd?)\n")
    }

    @Test func malformedAndOversizedRequestsAreAnsweredAndTheDaemonCarriesOn() throws {
        let daemon = try RunningDaemon()
        let socket = daemon.d.dir + "/state/dutyd.sock"
        func raw(_ bytes: [UInt8]) -> String {
            let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = UnixAddress(socket)!
            _ = address.withSockaddr { connect(fd, $0, $1) }
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        }
        #expect(raw(Array("not json\n".utf8)).contains(#""code":"usage""#))
        #expect(raw(Array(#"{"v":1,"op":"cycle","extra":1}"#.utf8) + [10]).contains("unexpected field 'extra'"))
        #expect(raw(Array(#"{"v":2,"op":"cycle"}"#.utf8) + [10]).contains("unsupported protocol version 2"))
        #expect(raw([UInt8](repeating: 0x41, count: 70_000)).contains("larger than 65536 bytes"))
        // A well-formed request still works.
        let status = try ControlClient.send(ControlRequest(op: .status), socketPath: socket)
        #expect(status.ok && status.result?["version"]?.stringValue == DutyVersion.string)
        _ = daemon.stop()
    }
}

@Suite(.serialized) struct SocketActivationTests {
    @Test func takesTheListeningSocketFromSystemd() throws {
        let activator = "/usr/bin/systemd-socket-activate"
        guard FileManager.default.isExecutableFile(atPath: activator) else { return }
        let d = try Deployment(cycle: "1h")
        let socket = d.dir + "/activated.sock"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: activator)
        p.arguments = ["-l", socket, binDir + "/dutyd", "--config", d.config]
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { p.terminate() }
        var tries = 0
        while !FileManager.default.fileExists(atPath: socket) && tries < 100 {
            usleep(20_000)
            tries += 1
        }
        // The first connection starts dutyd, which answers on the socket it was given.
        let response = try ControlClient.send(ControlRequest(op: .status), socketPath: socket, timeout: 20)
        #expect(response.ok)
        #expect(!d.exists("state/dutyd.sock"), "an activated dutyd does not make its own socket")
    }
}

@Suite(.serialized) struct ControlFloodTests {
    /// 1,000 connections: slow ones that send nothing (300 held open, more than dutyd's 256 slots), malformed and
    /// oversized ones, while cycles run; the daemon keeps cycling and answers well-formed requests, evicting the
    /// oldest idle connection to make room.
    @Test func floodOfBadClients() throws {
        let daemon = try RunningDaemon()
        let socket = daemon.d.dir + "/state/dutyd.sock"
        func connectFD() -> Int32 {
            let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = UnixAddress(socket)!
            _ = address.withSockaddr { connect(fd, $0, $1) }
            return fd
        }
        var slow: [Int32] = []
        for i in 0..<1_000 {
            let fd = connectFD()
            switch i % 4 {
            case 0:
                slow.append(fd)  // connects and says nothing
                if slow.count > 300 { close(slow.removeFirst()) }
                continue
            case 1:
                _ = Array("garbage\n".utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            case 2:
                let big = [UInt8](repeating: 0x7B, count: 80_000)
                _ = big.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            default:
                _ = Array(#"{"v":1,"op":"nope"}"#.utf8 + [10]).withUnsafeBytes {
                    send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
            }
            close(fd)
            if i % 100 == 0 { kill(daemon.process.processIdentifier, SIGUSR1) }
        }
        // Cycles still run, and a well-formed request is answered.
        kill(daemon.process.processIdentifier, SIGUSR1)
        #expect(daemon.notify.wait(for: "STATUS=") != nil)
        let status = try ControlClient.send(ControlRequest(op: .status), socketPath: socket, timeout: 10)
        #expect(status.ok)
        #expect(try daemon.duty(["cycle"]).code == 0)
        for fd in slow { close(fd) }
        #expect(daemon.process.isRunning)
        _ = daemon.stop()
    }
}

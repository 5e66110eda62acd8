import CSQLite
import DutyCore
import DutyDaemon
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// The soak (not installed): months of operation in one process. A Daemon on a temp deployment (the shipped
// policies and example roster) runs CYCLES cycles with the clock stepped STEP minutes each; every cycle a spool
// file brings ARRIVALS new referrals and closes those that arrived LIFETIME cycles before, so the waiting list
// settles. Every REPORT cycles it prints resident memory, and resident memory apart from SQLite's own
// (sqlite3_memory_used: its page cache, up to 32 MB, fills as the database grows), open descriptors, WAL and database size. At the end it compares
// the last report with the second (after warm-up) and exits 1 when the latter grew by more than 10% and 2 MB, a
// descriptor leaked, the WAL passed 64 MB or an error was logged.
//   duty-soak [--cycles 50000] [--step 15] [--arrivals 2] [--lifetime 200] [--report 5000] [--keep DIR]

/// Unbuffered: a report line is out as soon as it is written, even when the run is cut short.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

var parsed: [String: String] = [:]
var argv = Array(CommandLine.arguments.dropFirst())
while argv.count >= 2, argv[0].hasPrefix("--") {
    parsed[String(argv[0].dropFirst(2))] = argv[1]
    argv.removeFirst(2)
}
let options = parsed
guard argv.isEmpty else {
    FileHandle.standardError.write(
        Data(
            "usage: duty-soak [--cycles N] [--step MIN] [--arrivals N] [--lifetime N] [--report N] [--keep DIR]\n".utf8)
    )
    exit(64)
}
func option(_ name: String, _ fallback: Int) -> Int { options[name].flatMap { Int($0) } ?? fallback }
let cycles = option("cycles", 50_000)
let step = TimeInterval(option("step", 15) * 60)
let arrivals = option("arrivals", 2)
let lifetime = option("lifetime", 200)
let every = max(1, option("report", cycles / 10))

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
let dir = options["keep"] ?? (NSTemporaryDirectory() + "duty-soak-\(getpid())")
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
let config = dir + "/dutyd.conf"
try """
{ state_dir: "\(dir)/state", spool_dir: "\(dir)/spool", policies: "\(root)/policies",
  roster: "\(root)/systemd/roster.json5", timezone: "Europe/London",
  // The soak writes each file whole before the cycle that reads it, on a virtual clock: no settle wait.
  spool_settle: "0s" }
""".write(toFile: config, atomically: true, encoding: .utf8)

let start = Date(timeIntervalSince1970: 1_790_000_000)
let clock = Mutex(start)
// Errors fail the soak; warnings (escalations: nobody acknowledges in a soak) are counted.
let errors = Atomic<Int>(0)
let warnings = Atomic<Int>(0)
let log = Logger(environment: ["JOURNAL_STREAM": "soak"]) { line in
    if line.hasPrefix("<3>") {
        errors.add(1, ordering: .relaxed)
        FileHandle.standardError.write(Data(line.utf8))
    } else if line.hasPrefix("<4>") {
        warnings.add(1, ordering: .relaxed)
    }
}
// The store turns SQLite's memory statistics off for speed; this process reads them, so it keeps them on.
_ = duty_sqlite_keep_memstatus()
let daemon = try Daemon(configPath: config, clock: { clock.withLock { $0 } }, log: log)

let kinds = ["safeguarding", "dols", "care_act_assessment", "review", "ot", "financial_assessment"]
let iso = ISO8601DateFormatter()

/// Resident KB (VmRSS), resident KB apart from SQLite's memory, open descriptors, WAL and database bytes.
func measure() -> (rss: Int, other: Int, fds: Int, wal: Int, db: Int) {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let rss =
        status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? -1
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    func size(_ p: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: p))?[.size] as? Int) ?? 0 }
    let other = rss - Int(sqlite3_memory_used() / 1024)
    return (rss, other, fds, size(dir + "/state/duty.db-wal"), size(dir + "/state/duty.db"))
}

/// CPU seconds (user + system) this process has used.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

// ms/cycle is the wall time of `cycle()` alone; cpu_ms the whole process's CPU time per cycle (soak included).
say("cycle   day   waiting  rss_kb  rss-sql  fds  wal_kb  db_kb  ms/cycle  cpu_ms")
var reports: [(cycle: Int, rss: Int, other: Int, fds: Int)] = []
var maxWAL = 0
var cycleTime = 0.0
var cpuBefore = cpuSeconds()
for c in 1...cycles {
    let now = start.addingTimeInterval(Double(c) * step)
    clock.withLock { $0 = now }
    var lines: [String] = []
    for i in 0..<arrivals {
        let n = c * arrivals + i
        lines.append(
            #"{"id":"S-\#(n)","person":"P-\#(n % 5_000)","kind":"\#(kinds[n % kinds.count])","received":"\#(iso.string(from: now))","complexity":\#(1 + n % 5)}"#
        )
    }
    if c > lifetime {
        for i in 0..<arrivals {
            let n = (c - lifetime) * arrivals + i
            let received = iso.string(from: start.addingTimeInterval(Double(c - lifetime) * step))
            lines.append(
                #"{"id":"S-\#(n)","person":"P-\#(n % 5_000)","kind":"\#(kinds[n % kinds.count])","received":"\#(received)","complexity":\#(1 + n % 5),"status":"closed"}"#
            )
        }
    }
    let name = String(format: "c%07d.jsonl", c)
    try (lines.joined(separator: "\n") + "\n").write(
        toFile: dir + "/spool/incoming/." + name, atomically: false, encoding: .utf8)
    try FileManager.default.moveItem(atPath: dir + "/spool/incoming/." + name, toPath: dir + "/spool/incoming/" + name)
    let cycleStart = Date()
    let report = try daemon.queue.sync { try daemon.cycle() }
    cycleTime += Date().timeIntervalSince(cycleStart)
    if report.intake.rejected > 0 {
        say("cycle \(c): \(report.intake.rejected) records rejected")
        exit(1)
    }
    // The processed folder is the integration's to prune; the soak prunes it so the disk stays small.
    try FileManager.default.removeItem(atPath: dir + "/spool/processed/" + name)
    let m = measure()
    maxWAL = max(maxWAL, m.wal)
    if c % every == 0 {
        let waiting = report.waitingByLevel.reduce(0) { $0 + $1.1 }
        let ms = cycleTime * 1_000 / Double(every)
        let cpu = cpuSeconds()
        let cpuMS = (cpu - cpuBefore) * 1_000 / Double(every)
        (cycleTime, cpuBefore) = (0, cpu)
        say(
            String(
                format: "%6d %5d %8d %7d %8d %4d %7d %6d %9.2f %7.2f", c, Int(Double(c) * step / 86_400), waiting,
                m.rss, m.other, m.fds, m.wal / 1024, m.db / 1024, ms, cpuMS))
        reports.append((c, m.rss, m.other, m.fds))
    }
}
if options["keep"] == nil { try? FileManager.default.removeItem(atPath: dir) }

// Compare the end with the report after warm-up (the second, or the first when there is one).
let base = reports.count > 1 ? reports[1] : reports[0]
let last = reports[reports.count - 1]
let growth = Double(last.other - base.other) / Double(base.other)
say(
    String(
        format:
            "rss %d -> %d KB, rss apart from SQLite %d -> %d KB (%+.1f%%), fds %d -> %d, largest WAL %d KB, errors %d, warnings %d",
        base.rss, last.rss, base.other, last.other, growth * 100, base.fds, last.fds, maxWAL / 1024,
        errors.load(ordering: .relaxed),
        warnings.load(ordering: .relaxed)))
let ok =
    (growth < 0.10 || last.other - base.other < 2_048) && last.fds <= base.fds && maxWAL < 64 << 20
    && errors.load(ordering: .relaxed) == 0
say(ok ? "soak ok" : "soak FAILED")
exit(ok ? 0 : 1)

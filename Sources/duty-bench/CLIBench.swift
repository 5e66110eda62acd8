import DutyCore
import DutyStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// `duty-bench cli`: every read command of `duty` timed as a whole process on databases the real `dutyd` builds,
// in three shapes at each size:
//
// - `waiting`: every referral waits in one team (safeguarding, seven workers): the longest lists;
// - `closed`: referrals arrive over ten daily cycles and nine in ten are closed the day after: open work is small,
//   history is large;
// - `history`: referrals arrive over many daily cycles, wait, age (re-rated, escalated), are allocated and closed:
//   about ten events per referral.
//
// Each database is built by writing spool files and running `dutyd --once --now T` once per day, so the rows are
// what a council's would be. Each command runs `runs` times; its median and the largest resident set of any run
// (from `wait4`) are printed as one JSON object per line.

/// A referral as a spool record: safeguarding unless `kind` says otherwise, a flag in three, received `age` ago.
func spoolRecord(id: String, kind: String, received: Date, rng: inout SplitMix64, closed: Bool = false) -> String {
    let pool = flagsByKind[kind] ?? []
    var flags: [String] = []
    for f in pool where rng.next() % 100 < 8 { flags.append(f) }
    var fields: [(String, JSONValue)] = [
        ("id", .string(id)), ("person", .string("P-\(rng.next() % 1_000_000)")), ("kind", .string(kind)),
        ("received", .time(received)), ("flags", .strings(flags)), ("complexity", .int(Int64(1 + rng.next() % 5))),
    ]
    if kind == "dols" && rng.next() % 4 == 0 {
        let expires = received.addingTimeInterval(Double(rng.next() % 120) * 86_400)
        fields.append(("facts", .object([("authorisation_expires", .string(ISOTime.formatDate(expires, in: .utc)))])))
    }
    if closed { fields.append(("status", .string("closed"))) }
    return JSONValue.object(fields).serialized()
}

/// Runs `argv` to completion with stdout and stderr to /dev/null; its exit status, wall seconds and peak RSS (KiB).
func runProcess(_ argv: [String], environment: [String: String] = [:]) -> (status: Int32, seconds: Double, rssKiB: Int)
{
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for p in cArgs { free(p) }
        for p in cEnv { free(p) }
    }
    var pid: pid_t = 0
    let start = ContinuousClock.now
    guard posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv) == 0 else { return (127, 0, 0) }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let d = ContinuousClock.now - start
    let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (code, seconds, usage.ru_maxrss)
}

/// A deployment in `dir`: config, the shipped roster with the safeguarding team manager (w-100) mapped to the
/// user running the benchmark (so `duty inbox` has work to show), and the shipped policies.
func writeDeployment(dir: String, policiesDir: String, rosterPath: String) throws -> String {
    let fm = FileManager.default
    for sub in ["state", "spool/incoming"] {
        try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
    }
    let user = String(cString: getpwuid(geteuid()).pointee.pw_name)
    let roster = try String(contentsOfFile: rosterPath, encoding: .utf8)
        .replacingOccurrences(of: "unix_user: \"mhale\"", with: "unix_user: \"\(user)\"")
    try roster.write(toFile: dir + "/roster.json5", atomically: true, encoding: .utf8)
    let policies = URL(fileURLWithPath: policiesDir).standardizedFileURL.path
    let config = dir + "/dutyd.conf"
    try """
    { state_dir: "state", spool_dir: "spool", policies: "\(policies)", roster: "roster.json5",
      socket: "\(dir)/dutyd.sock", spool_settle: "0s", timezone: "Europe/London" }
    """.write(toFile: config, atomically: true, encoding: .utf8)
    return config
}

/// Builds one shape of `n` referrals in `dir` with `dutyd`; returns the config path and a waiting referral's id.
func buildShape(_ shape: String, n: Int, dir: String, bin: String, policiesDir: String, rosterPath: String) throws
    -> (config: String, waitingID: String)
{
    let config = dir + "/dutyd.conf"
    if FileManager.default.fileExists(atPath: dir + "/state/duty.db"),
        let done = try? String(
            contentsOfFile: dir + "/built", encoding: .utf8)
    {
        return (config, done)  // kept by an earlier run with --keep: time it again
    }
    _ = try writeDeployment(dir: dir, policiesDir: policiesDir, rosterPath: rosterPath)
    var rng = SplitMix64(seed: UInt64(n) &+ UInt64(shape.utf8.count))
    let start = Date(timeIntervalSince1970: 1_727_740_800)  // 2024-10-01
    var file = 0
    func spool(_ lines: [String]) throws {
        for chunk in stride(from: 0, to: lines.count, by: 20_000) {
            file += 1
            let text = lines[chunk..<min(chunk + 20_000, lines.count)].joined(separator: "\n") + "\n"
            try text.write(toFile: "\(dir)/spool/incoming/f\(file).jsonl", atomically: true, encoding: .utf8)
        }
    }
    func cycle(_ day: Int) throws {
        let now = ISOTime.format(start.addingTimeInterval(Double(day) * 86_400 + 10 * 3_600))
        let r = runProcess([bin + "/dutyd", "--config", config, "--once", "--now", now])
        guard r.status == 0 else {
            throw DutyError(.failure, "dutyd --once --now \(now) exited \(r.status) building '\(shape)'")
        }
    }
    let kinds = ["safeguarding", "dols", "care_act_assessment", "review", "ot", "financial_assessment"]
    switch shape {
    case "waiting":
        try spool(
            (0..<n).map {
                spoolRecord(
                    id: "SG-\($0)", kind: "safeguarding",
                    received: start.addingTimeInterval(-Double(rng.next() % (200 * 86_400))), rng: &rng)
            })
        try cycle(0)
        try "SG-\(n / 2)".write(toFile: dir + "/built", atomically: true, encoding: .utf8)
        return (config, "SG-\(n / 2)")
    case "closed", "history":
        let days = shape == "closed" ? 10 : 60
        let perDay = n / days
        // Each referral's record comes from its own seed, so closing it repeats the record with `status: closed`.
        var open: [(id: String, kind: String, received: Date, seed: UInt64)] = []
        for day in 0..<days {
            var lines: [String] = []
            // Closed work: nine in ten of what was open (closed shape), or one in ten (history, where one in four
            // of the rest is updated with new flags and re-rated).
            var still: [(id: String, kind: String, received: Date, seed: UInt64)] = []
            for var r in open {
                let roll = rng.next() % 40
                if roll < (shape == "closed" ? 36 : 4) {
                    var copy = SplitMix64(seed: r.seed)
                    lines.append(spoolRecord(id: r.id, kind: r.kind, received: r.received, rng: &copy, closed: true))
                    continue
                }
                if shape == "history" && roll >= 30 {
                    r.seed = r.seed &+ 0x9E37_79B9_7F4A_7C15
                    var copy = SplitMix64(seed: r.seed)
                    lines.append(spoolRecord(id: r.id, kind: r.kind, received: r.received, rng: &copy))
                }
                still.append(r)
            }
            open = still
            for k in 0..<perDay {
                let id = "R-\(day)-\(k)"
                let kind = kinds[Int(rng.next() % UInt64(kinds.count))]
                let received = start.addingTimeInterval(Double(day) * 86_400 - Double(rng.next() % (30 * 86_400)))
                let seed = UInt64(day) << 32 | UInt64(k)
                var own = SplitMix64(seed: seed)
                lines.append(spoolRecord(id: id, kind: kind, received: received, rng: &own))
                open.append((id, kind, received, seed))
            }
            try spool(lines)
            try cycle(day)
        }
        let id = open.last?.id ?? "R-0-0"
        try id.write(toFile: dir + "/built", atomically: true, encoding: .utf8)
        return (config, id)
    default:
        throw DutyError(.usage, "unknown shape '\(shape)' (waiting, closed, history)")
    }
}

func cliBenchmark(sizes: [Int], shapes: [String], runs: Int, policiesDir: String, rosterPath: String, keep: String?)
    throws -> Int32
{
    let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    for tool in ["duty", "dutyd"] where !FileManager.default.isExecutableFile(atPath: bin + "/" + tool) {
        throw DutyError(.failure, "no \(tool) beside duty-bench in \(bin): swift build -c release first")
    }
    // --keep DIR: build into DIR and leave it; a later run with the same DIR times the same databases again.
    let root = keep ?? NSTemporaryDirectory() + "duty-bench-cli-\(UUID().uuidString)"
    defer { if keep == nil { try? FileManager.default.removeItem(atPath: root) } }
    for shape in shapes {
        for n in sizes {
            let dir = "\(root)/\(shape)-\(n)"
            let built = ContinuousClock.now
            let (config, ref) = try buildShape(
                shape, n: n, dir: dir, bin: bin, policiesDir: policiesDir, rosterPath: rosterPath)
            let buildTime = ContinuousClock.now - built
            // The daemon's last act is a checkpoint; the size is what a reader opens.
            let dbBytes =
                (try? FileManager.default.attributesOfItem(atPath: dir + "/state/duty.db")[.size] as? Int) ?? 0
            let events = try Store(path: dir + "/state/duty.db", readOnly: true).head.seq
            let commands: [[String]] = [
                ["status"], ["show", ref], ["stats"], ["stats", "--by", "level"], ["why", ref], ["waiting"],
                ["waiting", "--format", "json"], ["waiting", "--format", "csv"], ["inbox"], ["caseload"],
                ["capacity"], ["export", "--format", "csv"], ["policy", "diff", policiesDir],
                ["log", "--n", "100"], ["log", "--format", "json"], ["verify"],
            ]
            for command in commands {
                var times: [Double] = []
                var rss = 0
                var status: Int32 = 0
                for _ in 0..<runs {
                    let r = runProcess([bin + "/duty", "--config", config] + command)
                    times.append(r.seconds)
                    rss = max(rss, r.rssKiB)
                    status = r.status
                }
                times.sort()
                report(
                    "cli", times,
                    [
                        ("shape", .string(shape)), ("referrals", .int(Int64(n))), ("referral", .string(ref)),
                        (
                            "command",
                            .string(
                                command.map { $0 == ref ? "REF" : $0 == policiesDir ? "DIR" : $0 }.joined(
                                    separator: " "))
                        ),
                        ("exit", .int(Int64(status))), ("max_rss_mib", .number((Double(rss) / 1024).rounded())),
                        ("events", .int(events)), ("db_mib", .number((Double(dbBytes) / 1_048_576).rounded())),
                        (
                            "build_s",
                            .number(
                                Double(buildTime.components.seconds) + Double(
                                    buildTime.components.attoseconds / 1_000_000_000_000_000) / 10)
                        ),
                    ])
            }
        }
    }
    return 0
}

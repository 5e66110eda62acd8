import DutyCore
import DutyEngine
import DutyPolicy
import DutyState
import DutyStore
import Foundation

/// What one cycle did, for STATUS= and the log.
public struct CycleReport: Sendable {
    public var waitingByLevel: [(String, Int)]
    public var blocked: Int
    public var overdue: Int
    public var allocated: Int
    public var decisions: Int
    public var intake: (new: Int, updated: Int, closed: Int, rejected: Int)

    /// `waiting 612 (red 3, amber 40, green 569), blocked 4, overdue 9, allocated 12 this cycle`
    public var status: String {
        let total = waitingByLevel.reduce(0) { $0 + $1.1 }
        let levels = waitingByLevel.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        return
            "waiting \(total)\(levels.isEmpty ? "" : " (\(levels))"), blocked \(blocked), overdue \(overdue), allocated \(allocated) this cycle"
    }
}

/// The daemon's state: configuration, roster, policies and the open store. Owned by the cycle queue: every
/// method runs there, so nothing here needs a lock.
public final class Daemon: @unchecked Sendable {
    /// Writes answered, for a retry with the same request id (`Daemon+Control`); only on `queue`.
    var answered = AnsweredRequests()
    /// The last head `publishHead` logged.
    private var publishedHead: Int64 = -1
    // Mutable state is confined to `queue` (dispatchPrecondition in the methods that touch it).
    public let queue = DispatchQueue(label: "dutyd.cycle")
    let configPath: String
    private(set) var config: DutyConfig
    private(set) var roster: Roster
    private(set) var policies: PolicySet
    let store: Store
    let log: Logger
    let clock: @Sendable () -> Date
    /// Called as a long cycle makes progress (each spool file): the runner pings systemd's watchdog from it, and
    /// extends the start timeout while the first cycle runs.
    var progress: (() -> Void)?
    /// Spool files logged as impossible to read or move, not tried again until they change.
    var spoolIgnored = Set<String>()
    /// Sends the outbox through `notify_command`.
    private(set) lazy var delivery = Delivery(daemon: self, environment: ProcessInfo.processInfo.environment)
    /// The pull from the case system (config `source`), when configured.
    private(set) lazy var source: CaseSystemSource? = config.source.map {
        CaseSystemSource(daemon: self, config: $0, environment: ProcessInfo.processInfo.environment)
    }
    /// The last cycle's time and STATUS line, for `duty status`.
    private(set) var lastCycle: Date?
    private(set) var lastStatus: String?

    func record(_ report: CycleReport, at time: Date) {
        lastCycle = time
        lastStatus = report.status
    }

    /// The lock on `<state_dir>/dutyd.lock`, held while this process lives: one dutyd (daemon or `--once`) per
    /// state folder, or two writers would interleave the log.
    private let lockFD: Int32

    /// Takes the state folder's lock, writing this process's id into the file; fails naming the holder.
    static func lock(stateDir: String) throws(DutyError) -> Int32 {
        let path = stateDir + "/dutyd.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            throw DutyError(.failure, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &buffer, buffer.count)
            let holder = String(decoding: buffer.prefix(max(0, n)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw DutyError(
                .unavailable,
                "another dutyd\(holder.isEmpty ? "" : " (pid \(holder))") is running on \(stateDir): only one may write its database; to run a cycle now, use 'duty cycle'"
            )
        }
        _ = ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return fd
    }

    /// Loads and checks everything, opens (creating) the state and spool folders and the database, and logs
    /// `config.loaded` when the files differ from the last ones logged.
    public init(configPath: String, clock: @escaping @Sendable () -> Date, log: Logger) throws(DutyError) {
        self.configPath = configPath
        self.clock = clock
        self.log = log
        let (config, roster, policies) = try Self.load(configPath)
        self.config = config
        self.roster = roster
        self.policies = policies
        do {
            try FileManager.default.createDirectory(atPath: config.stateDir, withIntermediateDirectories: true)
            try Self.spool(config).prepare(log: log)
        } catch {
            throw DutyError(
                .failure,
                "cannot create the state or spool folders (\(config.stateDir), \(config.spoolDir)): check they exist and dutyd may write them",
                cause: "\(error)")
        }
        guard FileManager.default.isWritableFile(atPath: config.stateDir) else {
            throw DutyError(
                .failure,
                "the state folder \(config.stateDir) is not writable: check its owner and mode (dutyd must write it)")
        }
        // A hook or client that goes away must be an error to handle (EPIPE), never the end of dutyd: in the
        // daemon and in `--once` alike.
        signal(SIGPIPE, SIG_IGN)
        lockFD = try Self.lock(stateDir: config.stateDir)
        store = try Store(path: config.databasePath)
        if let ca = config.source?.caFile {
            // FoundationNetworking (libcurl) reads the CA bundle to trust from this variable.
            setenv("URLSessionCertificateAuthorityInfoFile", ca, 1)
        }
        store.writeBackChannels = delivery.writeBackChannels
        try recordConfig()
        try returnOrphanedAllocations()
    }

    /// Config, roster and policies, all valid or an error with every diagnostic.
    static func load(_ path: String) throws(DutyError) -> (DutyConfig, Roster, PolicySet) {
        let config = try DutyConfig.load(path: path)
        let deployment = Deployment.load(config: config, policiesDir: config.policiesDir, rosterPath: config.rosterPath)
        guard deployment.isValid, let roster = deployment.roster, let policies = deployment.policies else {
            throw DutyError.invalid(deployment.diagnostics, what: "configuration")
        }
        return (config, roster, policies)
    }

    /// SHA-256 of the config, the roster and each policy file.
    private var fileHashes: JSONValue {
        let files = [("config", config.path), ("roster", config.rosterPath)] + policies.files.map { ($0, $0) }
        return .object(
            files.map { key, path in
                (
                    key == path ? path : key,
                    .string(SHA256.hex(Array((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data())))
                )
            })
    }

    private func recordConfig() throws(DutyError) {
        let data = JSONValue.object([("files", fileHashes)])
        do {
            let last = try store.log(LogFilter(type: "config.loaded", limit: 1)).first
            if last?.dataValue == data { return }
            try store.append([NewEvent(type: "config.loaded", data: data)], at: clock())
        } catch {
            throw DutyError(.failure, "cannot write to the database", cause: "\(error)")
        }
    }

    /// Re-reads config, roster and policies: all valid or none applied. Returns whether the new set is in use.
    @discardableResult
    func reload() -> Bool { (try? reloadOrFail()) != nil }

    /// Reloads, or fails with every diagnostic (all valid or none applied), logging either way.
    func reloadOrFail() throws(DutyError) {
        dispatchPrecondition(condition: .onQueue(queue))
        do {
            let (config, roster, policies) = try Self.load(configPath)
            if config.stateDir != self.config.stateDir || config.spoolDir != self.config.spoolDir {
                log.warning("reload: state_dir and spool_dir changes take effect at the next restart")
            }
            if config.source != self.config.source || config.writeBack != self.config.writeBack {
                log.warning("reload: source and write_back changes take effect at the next restart")
            }
            self.config = config
            self.roster = roster
            self.policies = policies
            try recordConfig()
            try returnOrphanedAllocations()
            log.notice("reload: configuration, roster and policies reloaded")
        } catch {
            for d in error.diagnostics.sortedForDisplay() { log.error(d.description) }
            log.error("reload failed, still running on the previous configuration: \(error.message)")
            throw error
        }
    }

    /// Allocations to workers the roster no longer has go back to waiting (`override.unassigned` by dutyd), and
    /// each one's accountable manager is told (`escalation.raised`, `worker_removed`): nobody is left allocated to
    /// someone who no longer appears anywhere.
    func returnOrphanedAllocations() throws(DutyError) {
        let known = Set(roster.workers.map(\.id))
        let orphans: [ReferralRow]
        do {
            orphans = try store.allocations().filter { $0.worker.map { !known.contains($0) } ?? false }
        } catch {
            throw DutyError(.failure, "cannot read the allocations", cause: "\(error)")
        }
        guard !orphans.isEmpty else { return }
        let now = clock()
        do {
            try store.write(at: now) { tx in
                for r in orphans {
                    let from = r.worker ?? "?"
                    try tx.append(
                        NewEvent(
                            type: "override.unassigned", referral: r.id,
                            data: .object([
                                ("by", .string("dutyd")), ("from", .string(from)),
                                ("reason", .string("\(from) is no longer in the roster")),
                            ])))
                    try tx.append(
                        NewEvent(
                            type: "escalation.raised", referral: r.id,
                            data: .object([
                                ("reason", .string(EscalationReason.workerRemoved.rawValue)),
                                ("to", .string(r.manager)),
                                ("chain_position", .int(0)), ("since", .time(now)),
                            ])))
                }
            }
        } catch {
            throw DutyError(.failure, "cannot return orphaned allocations to waiting", cause: "\(error)")
        }
        let workers = Set(orphans.compactMap(\.worker)).sorted().joined(separator: ", ")
        log.warning(
            "roster: \(orphans.count) allocation\(orphans.count == 1 ? "" : "s") to \(workers), no longer in the roster, returned to waiting; their managers are told"
        )
    }

    /// Points as a log line shows them: whole numbers without a fraction.
    static func points(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(format: "%.1f", d)
    }

    /// The spool as `config` sets it up.
    static func spool(_ config: DutyConfig) -> Spool {
        Spool(
            root: config.spoolDir, settle: config.spoolSettle.timeInterval, group: config.spoolGroup,
            maxFileBytes: Int64(config.spoolMaxFileMiB) << 20)
    }

    /// The engine's view of the store.
    func snapshot() throws -> Snapshot {
        try EngineState.snapshot(store: store, roster: roster, policies: policies, now: clock())
    }

    /// One cycle: intake, triage, allocation, oversight, log.
    /// Logs the allocation log's head (`log head SEQ:HASH`) when it has moved since the last time: to the
    /// journal, which the database's writer cannot rewrite, so a cut tail is found later against it
    /// (`duty verify --anchors`). After every cycle and control write that appended events.
    func publishHead() {
        let head = store.head
        guard head.seq != publishedHead, head.seq > 0 else { return }
        publishedHead = head.seq
        log.info("log head \(head.seq):\(head.hash)")
    }

    public func cycle() throws -> CycleReport {
        dispatchPrecondition(condition: .onQueue(queue))
        let now = clock()
        let spool = try Self.spool(config).process(
            store: store, roster: roster, policies: policies, timeZone: config.timeZone, now: now, log: log,
            ignored: &spoolIgnored, progress: { progress?() })
        let snapshot = try snapshot()
        let plan = Engine.plan(snapshot, now: now)
        // What each person is sent: one message per recipient, queued in the same transaction as the events.
        let digests = config.notifyCommand == nil ? [] : Digest.group(plan, snapshot: snapshot).filter { !$0.isEmpty }
        if !plan.decisions.isEmpty || !plan.alerts.isEmpty {
            try store.write(at: now) { tx in
                try tx.append(
                    contentsOf: plan.decisions.map {
                        NewEvent(type: $0.eventType, referral: $0.referral, data: $0.eventData)
                    } + plan.alerts.map { NewEvent(type: $0.eventType, data: $0.eventData) })
                let wall = Date().addingTimeInterval(config.notifyGroupWait.timeInterval)
                for d in digests {
                    try tx.enqueue(recipient: d.recipient, body: d.json(at: now).serialized(), at: wall)
                }
            }
        }
        for a in plan.alerts {
            if a.exceeded {
                log.warning(
                    "capacity: team \(a.team) is over capacity: \(Self.points(a.overduePoints)) points overdue, \(Self.points(a.waitingPoints)) waiting, \(Self.points(a.freePoints)) free; about \(a.posts) more post\(a.posts == 1 ? "" : "s") to catch up (escalations below the top rank are logged, not sent, until it recovers)"
                )
            } else {
                log.notice(
                    "capacity: team \(a.team) has room again (\(Self.points(a.waitingPoints)) points waiting, \(Self.points(a.freePoints)) free)"
                )
            }
        }
        publishHead()
        var allocated = 0
        var fallbacks: [String] = []
        var escalations: [String] = []
        for d in plan.decisions {
            switch d {
            case .assigned(let a):
                allocated += 1
                if a.accountable.fallback {
                    fallbacks.append(
                        "\(a.referral) allocated to \(a.worker); accountable: \(a.accountable.manager ?? "nobody present") (\(a.accountable.fallbackReason ?? "fallback"))"
                    )
                }
            case .escalated(let e):
                escalations.append(
                    "escalation: \(e.referral) \(e.reason.rawValue) to \(e.to ?? "nobody: no manager is present")")
            default: break
            }
        }
        // One line each when there are few; a count when an import brings thousands.
        fallbacks.prefix(20).forEach(log.info)
        if fallbacks.count > 20 { log.info("and \(fallbacks.count - 20) more allocations with a fallback manager") }
        if escalations.count <= 20 {
            escalations.forEach(log.warning)
        } else {
            log.warning("\(escalations.count) escalations raised (see duty log --type escalation.raised)")
        }
        // The status line from counts, not from loading every waiting referral again.
        let counts = try store.waitingCounts(now: now)
        var rankOf: [String: Int] = [:]
        for p in policies.triage { for l in p.levels { rankOf[l.name] = max(rankOf[l.name] ?? 0, l.rank) } }
        var byLevel = counts.byLevel.map { ($0.level ?? "unrated", $0.count) }
        byLevel.sort { (rankOf[$0.0] ?? 0, $1.0) > (rankOf[$1.0] ?? 0, $0.0) }
        return CycleReport(
            waitingByLevel: byLevel, blocked: counts.blocked, overdue: counts.overdue, allocated: allocated,
            decisions: plan.decisions.count, intake: (spool.new, spool.updated, spool.closed, spool.rejectedRecords))
    }

    /// Sends what the outbox holds that is due (before `--once` exits): each message once; failures stay queued.
    public func waitForNotifications() {
        delivery.drain()
    }
}

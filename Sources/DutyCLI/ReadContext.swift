import DutyControl
import DutyCore
import DutyPolicy
import DutyStore
import Foundation

/// What read commands work from: the config, the database opened read-only, and (when they load) the roster and
/// policies for reasons, review intervals and colours.
struct ReadContext {
    let config: DutyConfig
    let store: Store
    let roster: Roster?
    let policies: PolicySet?

    init(_ inv: Invocation) throws(DutyError) {
        config = try inv.loadConfig(required: true)!
        guard FileManager.default.fileExists(atPath: config.databasePath) else {
            throw DutyError(.notFound, "no database at \(config.databasePath): has dutyd run?")
        }
        store = try Store(path: config.databasePath, readOnly: true)
        let deployment = Deployment.load(config: config, policiesDir: config.policiesDir, rosterPath: config.rosterPath)
        roster = deployment.roster
        policies = deployment.policies
    }

    var zone: TimeZone { config.timeZone }

    /// Every event type dutyd writes, for `--type` (a type, or a family such as `triage` or `override.*`).
    static let eventTypes = [
        "referral.received", "referral.updated", "referral.closed", "intake.rejected", "triage.rated", "triage.rerated",
        "allocation.assigned", "allocation.blocked", "allocation.acknowledged", "escalation.raised",
        "capacity.exceeded", "capacity.recovered", "review.recorded", "override.assigned", "override.unassigned",
        "override.rerated", "absence.recorded", "absence.ended", "config.loaded", "daemon.started", "daemon.stopped",
        "log.checkpoint",
    ]

    /// Checks the filter options a command was given (`--team`, `--kind`, `--level`, `--worker`, `--type`)
    /// against the roster, the policies and the event types: a typo is a usage error with a guess, not an empty
    /// table a manager could read as "nobody waits".
    func checkFilters(_ inv: Invocation, command: String) throws(DutyError) {
        func check(_ option: String, _ known: [String], what: String) throws(DutyError) {
            guard let value = inv.value(option), !known.isEmpty, !known.contains(value) else { return }
            var message = "no \(what) '\(value)'"
            if let guess = closestMatch(value, in: known.sorted()) { message += "; did you mean '\(guess)'?" }
            throw DutyError(
                .usage, message + " (known: \(known.sorted().prefix(12).joined(separator: ", ")))", cause: command)
        }
        try check("team", roster?.teams.map(\.id) ?? [], what: "team")
        try check("kind", roster?.kinds ?? [], what: "kind")
        try check("level", Array(levelRanks.keys), what: "level")
        try check("worker", roster?.workers.map(\.id) ?? [], what: "worker")
        if let type = inv.value("type") {
            let family = type.hasSuffix(".*") ? String(type.dropLast(2)) : type
            let known = Self.eventTypes.contains(type) || Self.eventTypes.contains { $0.hasPrefix(family + ".") }
            if !known {
                var message = "no event type '\(type)'"
                let families = Set(Self.eventTypes.map { String($0.split(separator: ".")[0]) })
                if let guess = closestMatch(type, in: (Self.eventTypes + families.sorted()).sorted()) {
                    message += "; did you mean '\(guess)'?"
                }
                throw DutyError(.usage, message, cause: command)
            }
        }
    }

    func policy(_ id: String?) -> TriagePolicy? { policies?.triage.first { $0.id == id } }

    func reviewEvery(_ policy: String, _ level: String) -> Duration? {
        self.policy(policy)?.level(named: level)?.reviewEvery
    }

    /// A roster id with the person's name beside it, for tables: `w-214 (Kai Ferris)`; the id alone when the
    /// roster does not name it (someone since removed, `dutyd`, a unix user).
    func named(_ id: String?) -> String {
        guard let id else { return "-" }
        return roster?.workerByID[id].map { "\(id) (\($0.name))" } ?? id
    }

    /// The person's name for JSON and CSV (`worker_name` beside `worker`): null when the roster does not name them.
    func name(_ id: String?) -> JSONValue { .string(id.flatMap { roster?.workerByID[$0]?.name }) }

    /// Level name -> its rank and its policy's ranks, for colours.
    var levelRanks: [String: (Int, [Int])] {
        var out: [String: (Int, [Int])] = [:]
        for p in policies?.triage ?? [] {
            for l in p.levels where out[l.name] == nil { out[l.name] = (l.rank, p.levels.map(\.rank)) }
        }
        return out
    }

    func rules(_ row: ReferralRow) -> JSONValue {
        let policy = self.policy(row.policy)
        return .array(
            row.rules.map { id in
                let rule = policy?.rules.first { $0.id == id }
                return .object([
                    ("id", .string(id)), ("level", .string(rule?.level)), ("because", .string(rule?.because)),
                ])
            })
    }

    /// A note for lists built from the stored ratings when they may be stale: dutyd is not running, does not
    /// answer within a second, or its last cycle is more than three cycles (at least 10 minutes) old. Nil when
    /// its last cycle is recent. Levels and order are then as that cycle left them; `duty why` rates one now.
    func staleRatingsNote(now: Date) -> String? {
        let after = "levels and order are as its last cycle left them ('duty why REF' rates one now)"
        let response: ControlResponse
        do {
            response = try ControlClient.send(ControlRequest(op: .status), socketPath: config.socketPath, timeout: 1)
        } catch {
            // Someone outside the socket's group cannot ask: nothing is known of the cycle, so nothing is said.
            return error.code == .permissionDenied ? nil : "note: dutyd is not running or not answering: \(after)"
        }
        guard response.ok else { return "note: dutyd is not running or not answering: \(after)" }
        guard let last = response.result?["last_cycle"]?.timeValue else {
            return "note: dutyd has not run a cycle yet: \(after)"
        }
        guard now.timeIntervalSince(last) > max(3 * config.cycle.timeInterval, 600) else { return nil }
        return "note: dutyd's last cycle was at \(Render.localTime(last, zone)): \(after)"
    }

    func nextReview(_ row: ReferralRow) -> Date? {
        guard row.state == "waiting", let p = row.policy, let l = row.level, let every = reviewEvery(p, l) else {
            return nil
        }
        return every.after(row.lastReview ?? row.received, in: zone)
    }

    /// Lists records; for a `person` column the table shows `id (Name)` and JSON and CSV gain `<key>_name`.
    /// `fields`: every key a record has, for the header of an empty CSV when records have more than the columns.
    func list(
        _ inv: Invocation, _ records: [[(String, JSONValue)]], _ columns: [Column], format: String,
        fields: [String]? = nil
    ) {
        let people = Set(columns.filter(\.person).map(\.key))
        var records = records
        var columns = columns
        if !people.isEmpty {
            if format == "table" {
                records = records.map { r in
                    r.map { people.contains($0.0) ? ($0.0, .string(named($0.1.stringValue))) : $0 }
                }
            } else {
                records = records.map { r in
                    r.flatMap { f in people.contains(f.0) ? [f, (f.0 + "_name", name(f.1.stringValue))] : [f] }
                }
                columns = columns.flatMap { c in c.person ? [c, Column(header: "", key: c.key + "_name")] : [c] }
            }
        }
        Render.list(
            records, columns: columns, format: format, console: inv.console, timeZone: zone, levelRanks: levelRanks,
            fields: fields)
    }
}

extension ReadContext {
    /// Runs a read of the store, turning SQLite's errors into what they mean for this database (damaged, not
    /// readable, busy) with its path and what to do.
    func reading<T>(_ body: () throws -> T) throws(DutyError) -> T {
        do {
            return try body()
        } catch let error as DutyError {
            throw error
        } catch let error as SQLiteError {
            throw Store.explain(error, path: store.path, readOnly: true)
        } catch {
            throw DutyError(.failure, "cannot read the database '\(store.path)'", cause: "\(error)")
        }
    }
}

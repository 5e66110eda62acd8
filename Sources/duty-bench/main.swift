import DutyCore
import DutyEngine
import DutyPolicy
import DutyStore
import Foundation

// duty-bench SCENARIO: measures real work on generated data and prints one JSON object per measurement.
// Run it from a release build: swift build -c release && .build/release/duty-bench rules

/// Flags each kind's referrals may carry, as the shipped policies name them, plus some no rule uses.
let flagsByKind: [String: [String]] = [
    "safeguarding": [
        "risk_to_life", "immediate_harm", "abuse_in_progress", "neglect_in_progress", "care_breakdown",
        "discharge_blocked", "deteriorating", "carer_strain", "risk_managed", "repeat_concern", "below_s42_threshold",
        "self_neglect",
    ],
    "dols": [
        "urgent_authorisation", "objection", "restraint_regular", "family_objects", "sedation_frequent",
        "contact_restricted", "safeguarding_linked", "best_interests_dispute", "covert_medication",
        "restraint_occasional", "new_placement", "less_restrictive_option", "renewal", "end_of_life",
        "renewal_no_change", "hospital",
    ],
    "care_act_assessment": [
        "risk_to_life", "no_care_in_place", "carer_breakdown", "hospital_discharge", "deteriorating", "carer_strain",
        "lives_alone",
    ],
    "review": [
        "safeguarding_concern", "care_breakdown", "first_review", "needs_changed", "carer_strain", "annual_review",
    ],
    "ot": [
        "unsafe_transfers", "carer_cannot_manage", "hospital_discharge", "end_of_life", "recent_falls", "carer_strain",
        "deteriorating",
    ],
    "financial_assessment": [
        "financial_abuse_suspected", "placement_at_risk", "hospital_discharge", "hardship", "property_disregard_ending",
    ],
]

func generate(_ n: Int, kinds: [String], seed: UInt64, now: Date) -> [Referral] {
    var rng = SplitMix64(seed: seed)
    var out: [Referral] = []
    out.reserveCapacity(n)
    for i in 0..<n {
        let kind = kinds[Int(rng.next() % UInt64(kinds.count))]
        let pool = flagsByKind[kind] ?? []
        var flags: [String] = []
        for f in pool where rng.next() % 100 < 8 { flags.append(f) }
        var facts: [String: FactValue] = [:]
        if rng.next() % 2 == 0 { facts["age"] = .number(Double(18 + rng.next() % 85)) }
        if rng.next() % 3 == 0 { facts["concerns_12m"] = .number(Double(rng.next() % 6)) }
        if rng.next() % 3 == 0 { facts["falls_3m"] = .number(Double(rng.next() % 4)) }
        if rng.next() % 3 == 0 { facts["months_since_review"] = .number(Double(rng.next() % 24)) }
        if rng.next() % 4 == 0 {
            let left = Double(rng.next() % 120) - 20
            facts["authorisation_expires"] = .string(
                ISOTime.formatDate(now.addingTimeInterval(left * 86_400), in: TimeZone(identifier: "UTC")!))
        }
        let waited = Double(rng.next() % (400 * 86_400))
        out.append(
            Referral(
                id: "B-\(i)", person: "P-\(rng.next() % 1_000_000)", kind: kind,
                received: now.addingTimeInterval(-waited),
                flags: flags, facts: facts, complexity: 1 + Int(rng.next() % 5)))
    }
    return out
}

func measure(runs: Int, _ body: () -> Void) -> [Double] {
    var times: [Double] = []
    for _ in 0..<runs {
        let start = ContinuousClock.now
        body()
        let d = ContinuousClock.now - start
        times.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
    return times.sorted()
}

func report(_ bench: String, _ times: [Double], _ extra: [(String, JSONValue)]) {
    let median = times[times.count / 2]
    var fields: [(String, JSONValue)] = [("bench", .string(bench))]
    fields += extra
    fields += [
        ("runs", .int(Int64(times.count))), ("median_s", .number((median * 1e6).rounded() / 1e6)),
        ("min_s", .number((times.first! * 1e6).rounded() / 1e6)),
        ("max_s", .number((times.last! * 1e6).rounded() / 1e6)),
    ]
    print(JSONValue.object(fields).serialized())
}

func rulesBenchmark(policiesDir: String, rosterPath: String, count: Int, runs: Int) throws -> Int32 {
    let deployment = Deployment.load(config: nil, policiesDir: policiesDir, rosterPath: rosterPath)
    guard let policies = deployment.policies else {
        for d in deployment.diagnostics { FileHandle.standardError.write(Data("\(d)\n".utf8)) }
        return 65
    }
    let now = Date(timeIntervalSince1970: 1_725_960_600)
    let referrals = generate(count, kinds: policies.policyForKind.keys.sorted(), seed: 42, now: now)
    let contexts = referrals.map { RuleContext(referral: $0, now: now) }
    let policyIndex = referrals.map { policies.policyForKind[$0.kind]! }
    let ruleCount = zip(contexts, policyIndex).reduce(0) { $0 + policies.triage[$1.1].rules.count }
    var sink = 0
    // Rule evaluation alone: every rule of the referral's policy, counting matches.
    let evalTimes = measure(runs: runs) {
        for i in contexts.indices { sink &+= policies.triage[policyIndex[i]].countMatches(contexts[i]) }
    }
    let median = evalTimes[evalTimes.count / 2]
    report(
        "rules", evalTimes,
        [
            ("referrals", .int(Int64(count))), ("rule_evaluations", .int(Int64(ruleCount))),
            ("evaluations_per_s", .number((Double(ruleCount) / median).rounded())),
        ])
    // Full triage: policy lookup, every rule, the level, the due time and the explanation.
    let triageTimes = measure(runs: runs) {
        for r in referrals { sink &+= policies.triage(r, now: now)!.rules.count }
    }
    let tm = triageTimes[triageTimes.count / 2]
    report(
        "triage", triageTimes,
        [
            ("referrals", .int(Int64(count))), ("rule_evaluations", .int(Int64(ruleCount))),
            ("referrals_per_s", .number((Double(count) / tm).rounded())),
            ("evaluations_per_s", .number((Double(ruleCount) / tm).rounded())),
        ])
    if sink == -1 { print("") }  // keeps the work observable
    return 0
}

/// A regional service of 50 teams: the six kinds' home teams and 44 more that take referrals routed to them by
/// `team`; workers spread evenly with realistic capacities, skills and roles; 80% of capacity already allocated.
func engineSnapshot(waiting: Int, workers: Int, policiesDir: String, seed: UInt64, now: Date) -> Snapshot? {
    var rng = SplitMix64(seed: seed)
    let kinds = ["safeguarding", "dols", "care_act_assessment", "review", "ot", "financial_assessment"]
    var teams: [Team] = []
    var people: [Worker] = [
        Worker(id: "head", name: "Head", team: "t00", role: "head_of_service"),
        Worker(id: "duty1", name: "Duty 1", team: "t00", role: "service_manager"),
        Worker(id: "duty2", name: "Duty 2", team: "t01", role: "service_manager"),
    ]
    for t in 0..<50 {
        let id = "t" + (t < 10 ? "0\(t)" : "\(t)")
        teams.append(
            Team(
                id: id, name: id, service: "svc", manager: "\(id)-m", deputies: ["\(id)-d"],
                kinds: t < kinds.count ? [kinds[t]] : []))
        people.append(Worker(id: "\(id)-m", name: "M", team: id, role: "team_manager"))
        people.append(Worker(id: "\(id)-d", name: "D", team: id, role: "deputy_manager"))
    }
    for n in 0..<workers {
        let t = n % 50
        let kind = kinds[t % kinds.count]
        var skills: [String] = []
        var role = "social_worker"
        if kind == "dols" && rng.next() % 10 < 8 { skills.append("bia") }
        if kind == "ot" && rng.next() % 10 < 3 { role = "ot_aide" }
        if rng.next() % 4 == 0 {
            skills.append((flagsByKind[kind] ?? ["x"])[Int(rng.next() % UInt64((flagsByKind[kind] ?? ["x"]).count))])
        }
        people.append(
            Worker(
                id: "w\(100_000 + n)", name: "W", team: teams[t].id, role: role, skills: skills,
                capacity: Double(12 + rng.next() % 19), experience: 1 + Int(rng.next() % 5), asye: rng.next() % 10 == 0)
        )
    }
    let roster = Roster(
        services: [Service(id: "svc", name: "S", head: "head", dutyManagers: ["duty1", "duty2"])], teams: teams,
        workers: people)
    let (set, diagnostics) = PolicySet.load(directory: policiesDir, roster: roster)
    guard let policies = set else {
        for d in diagnostics { FileHandle.standardError.write(Data("\(d)\n".utf8)) }
        return nil
    }
    var referrals: [OpenReferral] = []
    for (k, r) in generate(waiting, kinds: kinds, seed: seed &+ 1, now: now).enumerated() {
        var r = r
        let t = Int(UInt64(k) &* 2_654_435_761 % 50)
        r.team = teams[t].id
        r.kind = kinds[t % kinds.count]
        referrals.append(OpenReferral(referral: r, needsRating: true))
    }
    // Existing caseloads: fill each worker to about 80% with allocated referrals of the team's kind.
    var n = 0
    for w in people where !w.isManager {
        var load = 0.0
        let kind = kinds[(teams.firstIndex { $0.id == w.team } ?? 0) % kinds.count]
        while true {
            let complexity = 1 + Int(rng.next() % min(5, UInt64(w.experience + 1)))
            let p = policies.allocation.points(kind: kind, complexity: complexity)
            if load + p > w.capacity * 0.8 { break }
            load += p
            n += 1
            let referral = Referral(
                id: "A-\(n)", person: "P-\(rng.next() % 1_000_000)", kind: kind, team: w.team,
                received: now.addingTimeInterval(-Double(rng.next() % (200 * 86_400))), complexity: complexity)
            referrals.append(
                OpenReferral(
                    referral: referral,
                    rating: policies.triage(referral, now: now).map {
                        Rating(
                            policy: $0.policy, policyVersion: $0.policyVersion, level: $0.level.name,
                            rank: $0.level.rank,
                            rules: $0.rules.map(\.id), due: $0.due)
                    },
                    allocation: AllocationRecord(worker: w.id, manager: "\(w.team)-m", at: now, acknowledged: now)))
        }
    }
    return Snapshot(referrals: referrals, roster: roster, absences: [], policies: policies)
}

func engineBenchmark(policiesDir: String, runs: Int, sizes: [(Int, Int)]) -> Int32 {
    let now = Date(timeIntervalSince1970: 1_725_960_600)
    for (waiting, workers) in sizes {
        guard
            var snapshot = engineSnapshot(
                waiting: waiting, workers: workers, policiesDir: policiesDir, seed: 7, now: now)
        else { return 65 }
        // 5% of workers and one in ten managers away.
        var rng = SplitMix64(seed: 99)
        for w in snapshot.roster.workers where rng.next() % 20 == 0 || (w.isManager && rng.next() % 10 == 0) {
            snapshot.absences.append(
                Absence(
                    id: "AB-\(w.id)", worker: w.id, from: now.addingTimeInterval(-86_400),
                    to: now.addingTimeInterval(5 * 86_400)))
        }
        // First cycle: the whole backlog is new and must be rated, allocated and explained.
        var plan: Plan?
        let times = measure(runs: runs) { plan = Engine.plan(snapshot, now: now) }
        func fields(_ cycle: String, _ s: Snapshot, _ p: Plan) -> [(String, JSONValue)] {
            [
                ("cycle", .string(cycle)), ("waiting", .int(Int64(s.referrals.filter(\.isWaiting).count))),
                ("workers", .int(Int64(workers))), ("teams", .int(50)),
                ("open_referrals", .int(Int64(s.referrals.count))),
                ("decisions", .int(Int64(p.decisions.count))),
                ("assigned", .int(Int64(p.decisions.filter { $0.eventType == "allocation.assigned" }.count))),
            ]
        }
        report("engine", times, fields("first", snapshot, plan!))
        // Steady cycle: an hour later the rated backlog is re-rated and re-allocated, with 1% new referrals.
        var steady = snapshot.applying(plan!, now: now)
        let later = now.addingTimeInterval(3_600)
        for (k, r) in generate(max(1, waiting / 100), kinds: ["safeguarding"], seed: 11, now: later).enumerated() {
            var r = r
            r.id = "N-\(k)"
            r.team = "t00"
            steady.referrals.append(OpenReferral(referral: r, needsRating: true))
        }
        let steadyTimes = measure(runs: runs) { plan = Engine.plan(steady, now: later) }
        report("engine", steadyTimes, fields("steady", steady, plan!))
    }
    // Blocked inversion: 100,000 waiting in one team of 500, nine in ten unable to take the complex top rank.
    guard let snapshot = inversionSnapshot(waiting: 100_000, workers: 500, policiesDir: policiesDir, now: now) else {
        return 65
    }
    var plan: Plan?
    let times = measure(runs: runs) { plan = Engine.plan(snapshot, now: now) }
    report(
        "engine", times,
        [
            ("cycle", .string("first")), ("case", .string("blocked_inversion")), ("waiting", .int(100_000)),
            ("workers", .int(500)), ("teams", .int(1)), ("decisions", .int(Int64(plan!.decisions.count))),
            ("assigned", .int(Int64(plan!.decisions.filter { $0.eventType == "allocation.assigned" }.count))),
        ])
    return 0
}

/// The blocked-inversion case: one safeguarding team of `workers`, nine in ten newly qualified (ASYE, experience 1,
/// so the `ASYE` and `EXP` rules keep them from complex work), and `waiting` new referrals, a third of them complex
/// (complexity 4-5) and many red: the top rank stays blocked by rules while lower-rank work is assigned around it.
func inversionSnapshot(waiting: Int, workers: Int, policiesDir: String, now: Date) -> Snapshot? {
    var rng = SplitMix64(seed: 21)
    var people: [Worker] = [
        Worker(id: "head", name: "Head", team: "sg", role: "head_of_service"),
        Worker(id: "sg-m", name: "M", team: "sg", role: "team_manager"),
    ]
    for n in 0..<workers {
        let asye = n % 10 != 0
        people.append(
            Worker(
                id: "w\(100_000 + n)", name: "W", team: "sg", role: "social_worker", capacity: 20,
                experience: asye ? 1 : 5, asye: asye))
    }
    let roster = Roster(
        services: [Service(id: "svc", name: "S", head: "head")],
        teams: [Team(id: "sg", name: "SG", service: "svc", manager: "sg-m", kinds: ["safeguarding"])], workers: people)
    let (set, diagnostics) = PolicySet.load(directory: policiesDir, roster: roster)
    guard let policies = set else {
        for d in diagnostics { FileHandle.standardError.write(Data("\(d)\n".utf8)) }
        return nil
    }
    let flags = ["risk_to_life", "deteriorating", "carer_strain", "below_s42_threshold"]
    var referrals: [OpenReferral] = []
    for n in 0..<waiting {
        let referral = Referral(
            id: "S-\(n)", person: "P-\(rng.next() % 1_000_000)", kind: "safeguarding", team: "sg",
            received: now.addingTimeInterval(-Double(rng.next() % (3 * 86_400))),
            flags: [flags[Int(rng.next() % UInt64(flags.count))]], complexity: 1 + Int(rng.next() % 5))
        referrals.append(OpenReferral(referral: referral, needsRating: true))
    }
    return Snapshot(referrals: referrals, roster: roster, absences: [], policies: policies)
}

/// Durable intake into a file database (WAL, synchronous=FULL), then query latencies on a large log.
func storeBenchmark(runs: Int, referrals total: Int, events target: Int, keep: String?) throws -> Int32 {
    let dir = NSTemporaryDirectory() + "duty-bench-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer {
        // --keep DIR: leave the large database as DIR/duty.db, to time `duty` against it.
        if let keep {
            try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.moveItem(atPath: dir + "/big.db" + suffix, toPath: keep + "/duty.db" + suffix)
            }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
    let now = Date(timeIntervalSince1970: 1_725_960_600)
    let kinds = ["safeguarding", "dols", "care_act_assessment", "review", "ot", "financial_assessment"]
    // Intake: batches of 10,000 referrals, one transaction each.
    var intakeTimes: [Double] = []
    for run in 0..<runs {
        let store = try Store(path: dir + "/intake-\(run).db")
        let referrals = generate(50_000, kinds: kinds, seed: UInt64(run), now: now)
        let start = ContinuousClock.now
        for batch in stride(from: 0, to: referrals.count, by: 10_000) {
            try store.write(at: now) { tx in
                try tx.intake(Array(referrals[batch..<min(batch + 10_000, referrals.count)]), source: "bench.jsonl")
            }
        }
        let d = ContinuousClock.now - start
        intakeTimes.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
    intakeTimes.sort()
    report(
        "store-intake", intakeTimes,
        [
            ("referrals", .int(50_000)), ("batch", .int(10_000)),
            ("referrals_per_s", .number((50_000 / intakeTimes[intakeTimes.count / 2]).rounded())),
        ])

    // A large log: `total` referrals, each rated, most re-rated, allocated or closed, until `target` events.
    let path = dir + "/big.db"
    let store = try Store(path: path)
    let referrals = generate(total, kinds: kinds, seed: 99, now: now)
    var rng = SplitMix64(seed: 5)
    var t = now.addingTimeInterval(-400 * 86_400)
    for batch in stride(from: 0, to: referrals.count, by: 10_000) {
        try store.write(at: t) { tx in
            let slice = referrals[batch..<min(batch + 10_000, referrals.count)].map { r -> Referral in
                var r = r
                r.team = "t\(rng.next() % 50)"
                return r
            }
            try tx.intake(slice, source: "bench.jsonl")
            for r in slice {
                let rank = Int64(1 + rng.next() % 3)
                try tx.append(
                    NewEvent(
                        type: "triage.rated", referral: r.id,
                        data: .object([
                            ("policy", .string("p")), ("policy_version", .string("1")),
                            ("level", .string(["low", "medium", "high"][Int(rank - 1)])), ("rank", .int(rank)),
                            ("rules", .strings(["R1"])), ("due", .time(r.received.addingTimeInterval(28 * 86_400))),
                        ])))
            }
        }
        t = t.addingTimeInterval(86_400)
    }
    while store.head.seq < target {
        try store.write(at: t) { tx in
            for _ in 0..<10_000 {
                let r = referrals[Int(rng.next() % UInt64(referrals.count))]
                switch rng.next() % 4 {
                case 0:
                    try tx.append(
                        NewEvent(
                            type: "allocation.assigned", referral: r.id,
                            data: .object([
                                ("worker", .string("w\(100_000 + rng.next() % 5_000)")), ("manager", .string("m")),
                                ("fallback", .bool(false)), ("candidates", .array([])),
                            ])))
                case 1:
                    try tx.append(
                        NewEvent(
                            type: "allocation.blocked", referral: r.id,
                            data: .object([("reason", .string("no_capacity"))])))
                case 2:
                    try tx.append(
                        NewEvent(
                            type: "escalation.raised", referral: r.id,
                            data: .object([
                                ("reason", .string("unallocated_overdue")), ("to", .string("m")),
                                ("chain_position", .int(Int64(rng.next() % 5))),
                            ])))
                default:
                    try tx.append(
                        NewEvent(
                            type: "review.recorded", referral: r.id, actor: "m", data: .object([("by", .string("m"))])))
                }
            }
        }
        t = t.addingTimeInterval(3_600)
    }
    let events = store.head.seq
    let reader = try Store(path: path, readOnly: true)
    let sample = referrals[referrals.count / 2].id
    func query(_ name: String, _ body: () throws -> Void) throws {
        var times: [Double] = []
        for _ in 0..<max(runs, 5) {
            let start = ContinuousClock.now
            try body()
            let d = ContinuousClock.now - start
            times.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        }
        times.sort()
        report(name, times, [("events", .int(events)), ("referrals", .int(Int64(total)))])
    }
    try query("store-stats") { _ = try reader.stats(by: .kind, asOf: now) }
    try query("store-show") {
        _ = try reader.referral(sample)
        _ = try reader.timeline(sample)
    }
    try query("store-log-100") { _ = try reader.log(LogFilter(limit: 100)) }
    try query("store-log-referral") { _ = try reader.log(LogFilter(referral: sample)) }
    try query("store-waiting") { _ = try reader.waiting() }
    try query("store-verify") { _ = try reader.verify() }
    return 0
}

var args = Array(CommandLine.arguments.dropFirst())
let usage =
    "usage: duty-bench rules|engine|store|cli [--referrals N[,N]] [--events N] [--runs N] [--shapes S,S] [--policies DIR]"
    + " [--roster FILE] [--keep DIR]"
guard let scenario = args.first, !scenario.hasPrefix("-") else {
    FileHandle.standardError.write(Data("duty-bench: missing scenario\n\(usage)\n".utf8))
    exit(64)
}
args.removeFirst()
var options: [String: String] = [:]
while let a = args.first {
    args.removeFirst()
    guard a.hasPrefix("--"), let v = args.first else {
        FileHandle.standardError.write(Data("duty-bench: unexpected '\(a)'\n\(usage)\n".utf8))
        exit(64)
    }
    args.removeFirst()
    options[String(a.dropFirst(2))] = v
}
switch scenario {
case "rules":
    exit(
        try rulesBenchmark(
            policiesDir: options["policies"] ?? "policies", rosterPath: options["roster"] ?? "systemd/roster.json5",
            count: Int(options["referrals"] ?? "") ?? 100_000, runs: Int(options["runs"] ?? "") ?? 5))
case "store":
    exit(
        try storeBenchmark(
            runs: Int(options["runs"] ?? "") ?? 3, referrals: Int(options["referrals"] ?? "") ?? 100_000,
            events: Int(options["events"] ?? "") ?? 1_000_000, keep: options["keep"]))
case "cli":
    exit(
        try cliBenchmark(
            sizes: (options["referrals"] ?? "10000,100000").split(separator: ",").compactMap { Int($0) },
            shapes: (options["shapes"] ?? "waiting,closed,history").split(separator: ",").map(String.init),
            runs: Int(options["runs"] ?? "") ?? 5, policiesDir: options["policies"] ?? "policies",
            rosterPath: options["roster"] ?? "systemd/roster.json5", keep: options["keep"]))
case "engine":
    exit(
        engineBenchmark(
            policiesDir: options["policies"] ?? "policies", runs: Int(options["runs"] ?? "") ?? 5,
            sizes: [(1_000, 100), (10_000, 1_000), (100_000, 5_000)]))
default:
    FileHandle.standardError.write(Data("duty-bench: unknown scenario '\(scenario)'\n\(usage)\n".utf8))
    exit(64)
}

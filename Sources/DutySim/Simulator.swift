import DutyCore
import DutyEngine
import DutyPolicy
import Foundation
import Synchronization

extension SplitMix64 {
    /// Exponential with mean `mean`.
    mutating func exponential(mean: Double) -> Double { -mean * log(1 - uniform()) }
}

extension Roster {
    /// The roster with each caseworker (anyone not in a manager role) there `staff` times: copies are
    /// `ID.2`, `ID.3` ..., with the same team, skills and capacity, and no Unix user.
    func scaled(staff: Int) -> Roster {
        guard staff > 1 else { return self }
        var workers = self.workers
        for w in self.workers where !Worker.managerRoles.contains(w.role) {
            for copy in 2...staff {
                var c = w
                c.id = "\(w.id).\(copy)"
                c.unixUser = nil
                workers.append(c)
            }
        }
        var out = Roster(services: services, teams: teams, workers: workers)
        out.file = file
        out.kindPositions = kindPositions
        return out
    }
}

/// A discrete-event simulation of arrivals, allocation and completion, with a virtual clock, driving the real
/// engine: the same `Engine.plan` the daemon runs, on snapshots the simulator keeps.
public struct Simulator: Sendable {
    public let scenario: Scenario
    public let roster: Roster
    public let policies: PolicySet
    public let seed: UInt64

    /// The texts the roster and policies were built from, so that each council can build its own copies.
    let sources: Sources?

    struct Sources: Sendable {
        var rosterFile: String
        var roster: String
        var policies: PolicySet.Sources
    }

    public init(scenario: Scenario, seed: UInt64) throws(DutyError) {
        let sources = Sources(
            rosterFile: scenario.rosterPath, roster: try SourceFile.read(scenario.rosterPath, what: "roster"),
            policies: PolicySet.read(directory: scenario.policiesDir))
        let (roster, policies) = try Self.build(scenario, sources)
        self.init(scenario: scenario, roster: roster, policies: policies, seed: seed, sources: sources)
    }

    /// The zone a simulated council keeps: its working days and the policies' calendar days.
    static let zone = TimeZone(identifier: "Europe/London")!

    init(scenario: Scenario, roster: Roster, policies: PolicySet, seed: UInt64, sources: Sources? = nil) {
        self.scenario = scenario
        self.roster = roster
        var policies = policies
        policies.timeZone = Self.zone  // a simulated English council's calendar
        self.policies = policies
        self.seed = seed
        self.sources = sources
    }

    /// The roster (scaled) and the policies, validated, from their texts.
    static func build(_ scenario: Scenario, _ sources: Sources) throws(DutyError) -> (Roster, PolicySet) {
        let (parsed, rosterDiagnostics) = Roster.parse(sources.roster, file: sources.rosterFile)
        guard let parsed, !rosterDiagnostics.hasErrors else {
            throw DutyError.invalid(rosterDiagnostics, what: "roster \(sources.rosterFile)")
        }
        let (set, diagnostics) = PolicySet.compile(sources.policies, roster: parsed)
        guard let set else { throw DutyError.invalid(diagnostics, what: "policies \(scenario.policiesDir)") }
        return (parsed.scaled(staff: scenario.staffScale), set)
    }

    /// Council `i` of a run: its own roster and policies built from the same texts (the compiled rules and every
    /// string in them are then the council's alone, so councils on different cores never update the same
    /// reference counts: sharing them cost a tenth of a national run), else this simulator's.
    func council(_ i: Int) -> Simulator {
        let seed = Self.seed(council: i, of: self.seed)
        guard let sources, let (roster, policies) = try? Self.build(scenario, sources) else {
            return Simulator(scenario: scenario, roster: roster, policies: policies, seed: seed)
        }
        return Simulator(scenario: scenario, roster: roster, policies: policies, seed: seed, sources: sources)
    }

    /// Council `i`'s seed in a run seeded `base`: council 0 has `base` itself.
    static func seed(council i: Int, of base: UInt64) -> UInt64 { base &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15 }

    /// The scenario's councils, each from its own seed (council 0 from `seed` itself, so one council is exactly
    /// `run()`), run in parallel on every core and added up.
    public func runCouncils() -> SimReport {
        let start = ContinuousClock.now
        let n = scenario.councils
        let reports = Mutex([SimReport?](repeating: nil, count: n))
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let report = council(i).run()
            reports.withLock { $0[i] = report }
        }
        let parts = reports.withLock { $0.compactMap { $0 } }
        guard n > 1 else { return parts[0] }
        let elapsed = ContinuousClock.now - start
        var total = SimReport.merged(
            parts, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        total.seed = seed
        return total
    }

    struct Arrival {
        var at: Date
        var referral: Referral
    }

    /// The starting backlog and the arrivals of the whole run, from the seed alone (so two policy sets see the
    /// same referrals).
    func arrivals() -> (backlog: [Referral], arrivals: [Arrival]) {
        var rng = SplitMix64(seed: seed)
        var out: [Arrival] = []
        // The scenario's kind and flag names are shared by every council's thread; each council's referrals get
        // copies of their own (see `council(_:)`): a kind the roster names as the roster's own string (the
        // engine's lookups by kind then meet the very same string), anything else a fresh copy.
        var own: [String: String] = [:]
        func mine(_ name: String) -> String {
            if let copy = own[name] { return copy }
            let copy =
                roster.teamForKind.keys.first { $0 == name } ?? String(decoding: Array(name.utf8), as: UTF8.self)
            own[name] = copy
            return copy
        }
        let end = scenario.start.addingTimeInterval(Double(scenario.days) * 86_400)
        for (k, (_, mix)) in scenario.kinds.enumerated() where mix.perYear > 0 || mix.every != nil {
            var t = scenario.start
            let mean = mix.perYear > 0 ? 365.25 * 86_400 / mix.perYear : 0
            var n = 0
            while true {
                t = t.addingTimeInterval(mix.every.map(\.timeInterval) ?? rng.exponential(mean: mean))
                guard t < end else { break }
                n += 1
                out.append(
                    Arrival(
                        at: t,
                        referral: draw(
                            kind: k, id: "S\(k)-\(n)", person: "P\(k)-\(n)", received: t, rng: &rng, name: mine)))
            }
        }
        return (backlog(name: mine), out.sorted { ($0.at, $0.referral.id) < ($1.at, $1.referral.id) })
    }

    /// Planned leave and sickness for everyone in the roster, from the seed.
    func absences() -> [Absence] {
        var rng = SplitMix64(seed: seed &+ 0xA5A5)
        var out: [Absence] = []
        let yearFraction = Double(scenario.days) / 365.25
        for w in roster.workers.sorted(by: { $0.id < $1.id }) {
            let blocks = Int((scenario.leaveDaysPerYear * yearFraction / Double(scenario.leaveBlock)).rounded())
            for b in 0..<blocks {
                let startDay = Int(rng.uniform() * Double(max(1, scenario.days - scenario.leaveBlock)))
                let from = scenario.start.addingTimeInterval(Double(startDay) * 86_400)
                out.append(
                    Absence(
                        id: "L-\(w.id)-\(b)", worker: w.id, from: from,
                        to: from.addingTimeInterval(Double(scenario.leaveBlock) * 86_400), reason: "leave"))
            }
            var day = 0
            while day < scenario.days {
                if rng.uniform() < scenario.sicknessPerDay {
                    let from = scenario.start.addingTimeInterval(Double(day) * 86_400)
                    out.append(
                        Absence(
                            id: "S-\(w.id)-\(day)", worker: w.id, from: from,
                            to: from.addingTimeInterval(Double(scenario.sicknessDays) * 86_400), reason: "sickness"))
                    day += scenario.sicknessDays
                } else {
                    day += 1
                }
            }
        }
        return out
    }

    public func run() -> SimReport {
        let clock = ContinuousClock.now
        let (backlog, arrivals) = self.arrivals()
        let allAbsences = absences().sorted { $0.from < $1.from }
        let away = AwayCalendar(allAbsences)
        var load = TeamLoad(roster)
        var holding: [String: (worker: String, points: Double)] = [:]  // open allocations
        var acknowledgements: [(Date, String)] = []  // when a manager will acknowledge a referral's allocation
        var acknowledged = 0
        let fromBacklog = Set(backlog.map(\.id))
        var policies = self.policies
        if scenario.baseline != nil {
            policies.allocation.order = [.received]
            policies.allocation.reservations = 0
            policies.allocation.headroom = nil
            policies.allocation.maxWait = nil
            policies.allocation.maxWaitYieldsTo = nil
        }
        var snapshot = Snapshot(referrals: [], roster: roster, absences: [], policies: policies)
        // Each referral's place in `kindLevels` and its due time when first rated.
        var atReferral: [String: (group: Int, due: Date)] = [:]
        var kindLevels: [SimReport.KindLevel] = []
        var kindLevelIndex: [String: Int] = [:]
        var lastMeetingWeek = -1
        var completions: [(Date, String)] = []  // when an allocated case is finished
        var position: [String: Int] = [:]  // each open referral's index in the snapshot
        var next = 0
        var cycles = 0
        var byKind: [String: SimReport.Group] = [:]
        var byLevel: [String: SimReport.Group] = [:]
        var escalations: [String: Int] = [:]
        var sends = SendTally()
        var series: [(Int, [String: Int])] = []
        var kindSeries: [(Int, [String: Int])] = []
        var kindLevelSeries: [(Int, [String: Int])] = []
        var workDays: [String: [Double]] = [:]
        for (kind, mix) in scenario.kinds {
            workDays[kind] = mix.workDays
            byKind[kind, default: .init(key: kind)].targetDays = mix.targetDays
        }
        var closed = 0
        let step = scenario.cycle.timeInterval
        let end = scenario.start.addingTimeInterval(Double(scenario.days) * 86_400)
        let zone = Self.zone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        calendar.firstWeekday = 2  // weeks start on Monday (the weekly baseline meets on the first working day)
        // The starting backlog waits from the first cycle; the offered load counts what arrives in the run.
        for r in backlog {
            position[r.id] = snapshot.referrals.count
            snapshot.referrals.append(OpenReferral(referral: r, needsRating: true))
            byKind[r.kind, default: .init(key: r.kind)].backlog += 1
        }
        for a in arrivals where a.at < end {
            let r = a.referral
            guard let team = r.team else { continue }
            let days = workDays[r.kind]?[max(0, min(4, r.complexity - 1))] ?? 10
            load.offered[team, default: 0] += policies.allocation.points(kind: r.kind, complexity: r.complexity) * days
        }
        var now = scenario.start
        var lastSampledDay = -1
        while now < end {
            // Arrivals up to now join the snapshot.
            while next < arrivals.count && arrivals[next].at <= now {
                let r = arrivals[next].referral
                position[r.id] = snapshot.referrals.count
                snapshot.referrals.append(OpenReferral(referral: r, needsRating: true))
                byKind[r.kind, default: .init(key: r.kind)].arrivals += 1
                next += 1
            }
            // Finished work closes.
            completions.sort { $0.0 < $1.0 }
            let done = completions.prefix { $0.0 <= now }
            let finished = Set(done.map(\.1))
            completions.removeFirst(done.count)
            if !finished.isEmpty {
                // Swap-remove: the engine orders referrals itself, and moving every open referral down the
                // array each day cost a tenth of a run. Highest index first, so that each swap brings in a referral
                // that stays.
                for i in finished.compactMap({ position[$0] }).sorted(by: >) {
                    let last = snapshot.referrals.count - 1
                    position[snapshot.referrals[i].referral.id] = nil
                    if i != last {
                        snapshot.referrals.swapAt(i, last)
                        position[snapshot.referrals[i].referral.id] = i
                    }
                    snapshot.referrals.removeLast()
                }
                closed += finished.count
                for id in finished {
                    if let h = holding.removeValue(forKey: id) { load.finish(worker: h.worker, points: h.points) }
                    if let kind = id.split(separator: "-").first.flatMap({ Int($0.dropFirst()) }) {
                        byKind[scenario.kinds[kind].0, default: .init(key: scenario.kinds[kind].0)].closed += 1
                    }
                }
            }
            let weekday = (calendar.component(.weekday, from: now) + 5) % 7 + 1  // 1 = Monday
            // The weekly baseline meets on the first working day of each week.
            let week =
                calendar.component(.weekOfYear, from: now) + 100 * calendar.component(.yearForWeekOfYear, from: now)
            let meets = scenario.baseline != .weekly || week != lastMeetingWeek
            if scenario.workingDays.contains(weekday) && meets {
                lastMeetingWeek = week
                // Managers acknowledge what they were asked to, `acknowledge_after` later.
                acknowledgements.sort { $0.0 < $1.0 }
                let ready = acknowledgements.prefix { $0.0 <= now }
                for (at, id) in ready {
                    guard let i = position[id], snapshot.referrals[i].allocation?.acknowledged == nil,
                        snapshot.referrals[i].allocation != nil
                    else { continue }
                    snapshot.referrals[i].allocation!.acknowledged = at
                    acknowledged += 1
                }
                acknowledgements.removeFirst(ready.count)
                snapshot.absences = allAbsences.filter { $0.to > now && $0.from < now.addingTimeInterval(30 * 86_400) }
                let plan = Engine.plan(snapshot, now: now)
                cycles += 1
                // What would be sent: one message per recipient per cycle (grouped, capacity-inhibited).
                for d in Digest.group(plan, snapshot: snapshot) where !d.isEmpty {
                    sends.add(recipient: d.recipient, day: Int(now.timeIntervalSince(scenario.start) / 86_400))
                }
                // Due times of referrals rated in this cycle (their snapshot rating is still nil), by position.
                var ratedNow: [Int: Date] = [:]
                for (k, d) in plan.decisions.enumerated() {
                    guard case .rated(let id, let rating, _) = d else { continue }
                    ratedNow[plan.positions[k]] = rating.due
                    guard !fromBacklog.contains(id) else { continue }  // referred before the run
                    let kind = snapshot.referrals[plan.positions[k]].referral.kind
                    let key = kind + "\u{0}" + rating.level
                    let g =
                        kindLevelIndex[key]
                        ?? {
                            kindLevels.append(.init(kind: kind, level: rating.level, rank: rating.rank))
                            kindLevelIndex[key] = kindLevels.count - 1
                            return kindLevels.count - 1
                        }()
                    kindLevels[g].arrivals += 1
                    atReferral[id] = (g, rating.due)
                }
                for (k, d) in plan.decisions.enumerated() {
                    switch d {
                    case .assigned(let a):
                        let i = plan.positions[k]
                        let r = snapshot.referrals[i].referral
                        let wait = now.timeIntervalSince(r.received) / 86_400
                        let due = snapshot.referrals[i].rating?.due ?? ratedNow[i]
                        for key in [r.kind] {
                            byKind[key, default: .init(key: key)].allocated += 1
                            byKind[key]!.waits.append(wait)
                            if let due, now <= due { byKind[key]!.withinTimescale += 1 }
                            if a.accountable.fallback { byKind[key]!.fallbacks += 1 }
                            if let target = byKind[key]!.targetDays, wait <= target { byKind[key]!.withinTarget += 1 }
                        }
                        byLevel[a.level, default: .init(key: a.level)].allocated += 1
                        byLevel[a.level]!.waits.append(wait)
                        if let due, now <= due { byLevel[a.level]!.withinTimescale += 1 }
                        if a.accountable.fallback { byLevel[a.level]!.fallbacks += 1 }
                        if let (g, dueAtReferral) = atReferral[r.id] {
                            kindLevels[g].allocated += 1
                            kindLevels[g].waits.append(wait)
                            if now <= dueAtReferral { kindLevels[g].withinTimescale += 1 }
                        }
                        let days = workDays[r.kind]?[max(0, min(4, r.complexity - 1))] ?? 10
                        completions.append((away.finish(worker: a.worker, start: now, days: days), r.id))
                        load.allocate(worker: a.worker, points: a.points)
                        holding[r.id] = (a.worker, a.points)
                        if let after = scenario.acknowledgeAfter, a.accountable.manager != nil {
                            acknowledgements.append((now.addingTimeInterval(after.timeInterval), r.id))
                        }
                    case .escalated(let e):
                        escalations[e.reason.rawValue, default: 0] += 1
                        if let after = scenario.acknowledgeAfter, e.reason == .ackOverdue, e.to != nil {
                            acknowledgements.append((now.addingTimeInterval(after.timeInterval), e.referral))
                        }
                    default: break
                    }
                }
                // Reviews due are done by the accountable manager when one is present; on time when done within a
                // cycle of falling due.
                var reviewed: [Int] = []
                for (due, i) in zip(plan.reviewsDue, plan.reviewPositions) {
                    let kind = snapshot.referrals[i].referral.kind
                    byKind[kind, default: .init(key: kind)].reviewsDue += 1
                    if due.manager != nil {
                        reviewed.append(i)
                        if now.timeIntervalSince(due.due) <= step { byKind[kind]!.reviewsOnTime += 1 }
                    }
                }
                snapshot.apply(plan, now: now)
                for i in reviewed { snapshot.referrals[i].lastReview = now }
            }
            // Daily sample of the waiting list by level.
            let day = Int(now.timeIntervalSince(scenario.start) / 86_400)
            if day != lastSampledDay {
                lastSampledDay = day
                load.sample()
                var levels = Tally()
                var kinds = Tally()
                var kindLevels = Tally()
                let referrals = snapshot.referrals  // a constant, read in place (the variable's elements were copied)
                for i in referrals.indices where referrals[i].allocation == nil {
                    let level = referrals[i].rating?.level ?? "unrated"
                    levels.add(level)
                    kinds.add(referrals[i].referral.kind)
                    kindLevels.add(referrals[i].referral.kind + "\t" + level)
                }
                kindLevelSeries.append((day, kindLevels.dictionary))
                let counts = levels.dictionary
                let kindCounts = kinds.dictionary
                series.append((day, counts))
                kindSeries.append((day, kindCounts))
                for (kind, n) in kindCounts {
                    byKind[kind, default: .init(key: kind)].peakWaiting = max(byKind[kind]?.peakWaiting ?? 0, n)
                }
                for (level, n) in counts {
                    byLevel[level, default: .init(key: level)].peakWaiting = max(byLevel[level]?.peakWaiting ?? 0, n)
                }
            }
            now = now.addingTimeInterval(step)
        }
        // Referrals that arrived after the last cycle are waiting at the end.
        while next < arrivals.count && arrivals[next].at < end {
            let r = arrivals[next].referral
            snapshot.referrals.append(OpenReferral(referral: r, needsRating: true))
            byKind[r.kind, default: .init(key: r.kind)].arrivals += 1
            next += 1
        }
        var waitingAtEnd = 0
        var openAllocated = 0
        for o in snapshot.referrals {
            if o.allocation == nil {
                waitingAtEnd += 1
                let age = end.timeIntervalSince(o.referral.received) / 86_400
                byKind[o.referral.kind, default: .init(key: o.referral.kind)].finalWaiting += 1
                byKind[o.referral.kind]!.maxAgeWaiting = max(byKind[o.referral.kind]!.maxAgeWaiting ?? 0, age)
                byKind[o.referral.kind]!.agesWaiting.append(age)
                if let (g, due) = atReferral[o.referral.id] {
                    if due < end { kindLevels[g].lateWaiting += 1 }
                    kindLevels[g].maxAgeWaiting = max(kindLevels[g].maxAgeWaiting ?? 0, age)
                }
                byLevel[o.rating?.level ?? "unrated", default: .init(key: o.rating?.level ?? "unrated")].finalWaiting +=
                    1
            } else {
                openAllocated += 1
            }
        }
        var levelOrder: [(String, Int)] = []
        for p in policies.triage {
            for l in p.levels where !levelOrder.contains(where: { $0.0 == l.name }) {
                levelOrder.append((l.name, l.rank))
            }
        }
        levelOrder.sort { ($0.1, $1.0) > ($1.1, $0.0) }
        let elapsed = ContinuousClock.now - clock
        var report = SimReport(
            scenario: scenario.file, policies: scenario.policiesDir, baseline: scenario.baseline, seed: seed,
            days: scenario.days, cycles: cycles,
            byKind: byKind.values.sorted { $0.key < $1.key }, byLevel: levelOrder.compactMap { byLevel[$0.0] },
            escalations: escalations.sorted { $0.key < $1.key }, series: series, kindSeries: kindSeries,
            levelOrder: levelOrder.map(\.0),
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            arrivals: arrivals.filter { $0.at < end }.count, waitingAtEnd: waitingAtEnd,
            openAllocatedAtEnd: openAllocated,
            closedAtEnd: closed)
        report.backlog = backlog.count
        report.kindLevelSeries = kindLevelSeries
        report.sends = sends.report(workingDays: workingDayIndices(), roster: roster)
        report.acknowledged = acknowledged
        report.teams = load.report(days: scenario.days)
        report.byKindLevel = kindLevels.sorted { ($0.kind, -$0.rank) < ($1.kind, -$1.rank) }
        return report
    }
}

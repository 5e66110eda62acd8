import DutyCore
import DutyEngine
import Foundation

extension Simulator {
    /// One referral of kind `k` (the scenario's `k`th), drawn from its flag, fact and complexity mix: the same
    /// draws, in the same order, for arrivals and for the starting backlog.
    func draw(
        kind k: Int, id: String, person: String, received: Date, rng: inout SplitMix64, name: (String) -> String
    ) -> Referral {
        let (kind, mix) = scenario.kinds[k]
        let flags = mix.flags.filter { rng.uniform() < $0.1 }.map { name($0.0) }
        var facts: [String: FactValue] = [:]
        for (fact, p, lo, hi) in mix.facts where rng.uniform() < p {
            facts[fact] = .number((lo + (hi - lo) * rng.uniform()).rounded())
        }
        let total = mix.complexity.reduce(0, +)
        var u = rng.uniform() * total
        var complexity = 5
        for (i, w) in mix.complexity.enumerated() {
            if u < w {
                complexity = i + 1
                break
            }
            u -= w
        }
        return Referral(
            id: id, person: person, kind: name(kind), team: roster.teamForKind[kind], received: received,
            flags: flags, facts: facts, complexity: complexity)
    }

    /// The people waiting when the run starts (`backlog:`), from the seed alone: ids `B<kind>-<n>`, received
    /// before the start, in the order received. Ages are exponential with the kind's median, cut at its maximum.
    func backlog(name: (String) -> String) -> [Referral] {
        var rng = SplitMix64(seed: seed &+ 0xB0B0)
        var out: [Referral] = []
        for (k, (kind, _)) in scenario.kinds.enumerated() {
            guard let b = scenario.backlog[kind] else { continue }
            let mean = b.medianAgeDays / log(2.0)
            for n in 1...max(1, b.count) where b.count > 0 {
                var age = rng.exponential(mean: mean)
                while age > b.maxAgeDays { age = rng.exponential(mean: mean) }
                let received = scenario.start.addingTimeInterval(-max(age, 0.01) * 86_400)
                out.append(
                    draw(kind: k, id: "B\(k)-\(n)", person: "PB\(k)-\(n)", received: received, rng: &rng, name: name))
            }
        }
        return out.sorted { ($0.received, $0.id) < ($1.received, $1.id) }
    }
}

/// Who is away when, by worker, for working out when allocated work is finished: a worker on leave or off sick
/// does not progress their cases.
struct AwayCalendar {
    private var spells: [String: [(from: Date, to: Date)]] = [:]

    init(_ absences: [Absence]) {
        for a in absences { spells[a.worker, default: []].append((a.from, a.to)) }
        for k in spells.keys { spells[k]!.sort { $0.from < $1.from } }
    }

    /// When `worker`, starting at `start`, has been present for `days` days (whole days counted at their middle;
    /// a fraction of a day at the end counts as it is).
    func finish(worker: String, start: Date, days: Double) -> Date {
        guard let away = spells[worker], !away.isEmpty else { return start.addingTimeInterval(days * 86_400) }
        var t = start
        var left = days
        var guardDays = 0
        while left > 0 && guardDays < 20 * 366 {
            let middle = t.addingTimeInterval(43_200)
            let absent = away.contains { $0.from <= middle && middle < $0.to }
            let step = min(1, left)
            if !absent { left -= step }
            t = t.addingTimeInterval((absent ? 1 : step) * 86_400)
            guardDays += 1
        }
        return t
    }
}

/// Each team's caseload while a run goes on: points allocated against the points its workers can hold.
struct TeamLoad {
    /// Team id -> capacity in points (every worker's capacity, managers' included).
    let capacity: [String: Double]
    let teamOf: [String: String]
    /// Team id -> points of open allocations now.
    private(set) var held: [String: Double] = [:]
    /// Team id -> the sum over daily samples of held / capacity, and the number of samples.
    private var sampled: [String: Double] = [:]
    private var samples = 0
    /// Team id -> points x work days of everything that arrived in the run (the offered load).
    var offered: [String: Double] = [:]

    init(_ roster: Roster) {
        var capacity: [String: Double] = [:]
        var teamOf: [String: String] = [:]
        for w in roster.workers {
            capacity[w.team, default: 0] += w.capacity
            teamOf[w.id] = w.team
        }
        self.capacity = capacity
        self.teamOf = teamOf
    }

    mutating func allocate(worker: String, points: Double) {
        if let t = teamOf[worker] { held[t, default: 0] += points }
    }

    mutating func finish(worker: String, points: Double) {
        if let t = teamOf[worker] { held[t, default: 0] -= points }
    }

    mutating func sample() {
        samples += 1
        for (t, c) in capacity where c > 0 { sampled[t, default: 0] += (held[t] ?? 0) / c }
    }

    /// Per team, in id order: load ratio (offered points x days / (capacity x days run)) and mean utilisation.
    func report(days: Int) -> [SimReport.TeamResult] {
        capacity.keys.sorted().map { t in
            let c = capacity[t] ?? 0
            return SimReport.TeamResult(
                team: t, capacityPoints: c,
                loadRatio: c > 0 && days > 0 ? (offered[t] ?? 0) / (c * Double(days)) : nil,
                utilisationPct: c > 0 && samples > 0 ? 100 * (sampled[t] ?? 0) / Double(samples) : nil)
        }
    }
}

/// Messages per recipient per day, for `SimReport.sends`.
struct SendTally {
    private var counts: [String: [Int: Int]] = [:]
    private var nobody = 0

    mutating func add(recipient: String?, day: Int) {
        guard let recipient else {
            nobody += 1
            return
        }
        counts[recipient, default: [:]][day, default: 0] += 1
    }

    /// Per recipient, over the run's working days (zero days included), recipients in id order.
    func report(workingDays: [Int], roster: Roster) -> SimReport.Sends {
        let roles = Dictionary(roster.workers.map { ($0.id, $0.role) }, uniquingKeysWith: { a, _ in a })
        var out = SimReport.Sends()
        out.toNobody = nobody
        for (id, byDay) in counts.sorted(by: { $0.key < $1.key }) {
            var r = SimReport.Sends.Recipient(id: id, role: roles[id] ?? "")
            r.perDay = workingDays.map { byDay[$0] ?? 0 }
            r.total = byDay.values.reduce(0, +)
            out.recipients.append(r)
        }
        return out
    }
}

extension Simulator {
    /// The indices (days since the start) of the run's working days.
    func workingDayIndices() -> [Int] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/London")!
        return (0..<scenario.days).filter { day in
            let date = scenario.start.addingTimeInterval(Double(day) * 86_400 + 43_200)
            return scenario.workingDays.contains((calendar.component(.weekday, from: date) + 5) % 7 + 1)
        }
    }
}

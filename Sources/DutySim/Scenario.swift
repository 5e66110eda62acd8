import DutyCore
import Foundation

/// A simulation scenario (JSON5): who works where, under which policies, what arrives, how long work takes, and
/// how often people are away.
public struct Scenario: Sendable {
    public struct KindMix: Sendable {
        /// Referrals a year (Poisson arrivals).
        public var perYear: Double
        /// Instead: one referral exactly every this long (for scenarios worked out by hand).
        public var every: DutyCore.Duration?
        /// Probability of each flag on a referral.
        public var flags: [(String, Double)]
        /// Probability of complexity 1...5 (normalised).
        public var complexity: [Double]
        /// Numeric facts: name -> (probability present, min, max).
        public var facts: [(String, Double, Double, Double)]
        /// Days an allocated case occupies its worker, by complexity 1...5: days the worker is present (a
        /// worker on leave or off sick does not progress their cases).
        public var workDays: [Double]
        /// The council's own target for the wait from referral to allocation, in days (`target_days`: B&NES
        /// safeguarding 4, financial assessments 28), reported as `within_target_pct`; nil: none.
        public var targetDays: Double?
    }

    /// People already waiting when the run starts (`backlog:` per kind), drawn with the kind's flag, fact and
    /// complexity mix: `count` of them, each received `age` days before the start, ages exponentially distributed
    /// with median `medianAgeDays` and cut at `maxAgeDays`.
    public struct Backlog: Sendable {
        public var count: Int
        public var medianAgeDays: Double
        public var maxAgeDays: Double
    }

    public var file: String
    public var rosterPath: String
    public var policiesDir: String
    public var start: Date
    public var days: Int
    /// Virtual time between cycles.
    public var cycle: DutyCore.Duration
    /// Weekdays (1 = Monday ... 7 = Sunday) when cycles run.
    public var workingDays: Set<Int>
    public var kinds: [(String, KindMix)]
    /// The starting waiting list, by kind name.
    public var backlog: [String: Backlog]
    /// How long after an allocation that needs acknowledging (or an `ack_overdue` escalation) the manager it went
    /// to acknowledges it (`managers: { acknowledge_after }`, default 4h); nil (`"never"`): nobody acknowledges.
    public var acknowledgeAfter: DutyCore.Duration?
    /// Planned leave days a year per person, taken in blocks of `leaveBlock` days.
    public var leaveDaysPerYear: Double
    public var leaveBlock: Int
    /// Chance a present person starts a sickness spell on a given day, and the spell's length in days.
    public var sicknessPerDay: Double
    public var sicknessDays: Int
    /// Independent councils simulated side by side (each its own copy of the roster, arrivals and absences from
    /// its own seed); the report adds them up. 153 is England.
    public var councils: Int
    /// Each council's caseworkers (not managers) are the roster's, this many times over.
    public var staffScale: Int
    /// Run a baseline (what councils do now) instead of the policies' allocation order.
    public var baseline: Baseline?

    public static func load(
        path: String, policiesOverride: String? = nil, days: Int? = nil, councils: Int? = nil
    ) throws(DutyError) -> Scenario {
        let text = try SourceFile.read(path, what: "scenario")
        let sink = DiagnosticSink(file: path)
        guard let root = NodeDecoding.parse(text, sink: sink),
            let o = ObjectFields(root, what: "the scenario", sink: sink)
        else { throw DutyError.invalid(sink.diagnostics, what: "scenario \(path)") }
        let base = SourceFile.directory(of: path)
        let roster = o.string("roster", required: true).map { SourceFile.resolve($0, against: base) }
        let filePolicies = o.string("policies", required: policiesOverride == nil).map {
            SourceFile.resolve($0, against: base)
        }
        let policies = policiesOverride ?? filePolicies
        var start = Date(timeIntervalSince1970: 1_680_307_200)  // 2023-04-01
        if let s = o.string("start") {
            if let d = ISOTime.parse(s, timeZone: TimeZone(identifier: "Europe/London")!) {
                start = d
            } else {
                sink.error(o.node("start")!.position, "'start' must be an ISO date")
            }
        }
        let fileDays = o.integer("days", in: 1...3_650)
        let length = days ?? fileDays ?? 365
        let cycle = o.duration("cycle") ?? .days(1)
        var working: Set<Int> = [1, 2, 3, 4, 5]
        if let names = o.strings("working_days") {
            let map = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]
            working = Set(names.compactMap { map[$0.lowercased()] })
            if working.count != names.count {
                sink.error(o.node("working_days")!.position, "working_days are mon, tue, ... sun")
            }
        }
        var kinds: [(String, KindMix)] = []
        if let n = o.node("arrivals", required: true), case .object(let members) = n.value {
            for m in members {
                guard let k = ObjectFields(m.value, what: "arrivals.\(m.key)", sink: sink) else { continue }
                let perYear = k.number("per_year") ?? (k.number("per_week").map { $0 * 52.18 }) ?? 0
                let every = k.duration("every")
                var flags: [(String, Double)] = []
                if let fn = k.node("flags"), case .object(let fm) = fn.value {
                    for f in fm {
                        if case .number(let p, _) = f.value.value {
                            flags.append((f.key, p))
                        } else {
                            sink.error(f.value.position, "a flag's probability must be a number")
                        }
                    }
                }
                var facts: [(String, Double, Double, Double)] = []
                if let fn = k.node("facts"), case .object(let fm) = fn.value {
                    for f in fm {
                        guard let fo = ObjectFields(f.value, what: "facts.\(f.key)", sink: sink) else { continue }
                        facts.append((f.key, fo.number("p") ?? 1, fo.number("min") ?? 0, fo.number("max") ?? 0))
                        fo.finish()
                    }
                }
                var complexity = [0.1, 0.2, 0.4, 0.2, 0.1]
                if let cn = k.node("complexity"), case .array(let items) = cn.value, items.count == 5 {
                    complexity = items.map { if case .number(let d, _) = $0.value { d } else { 0 } }
                }
                var work = [5.0, 10, 15, 20, 30]
                if let wn = k.node("work_days") {
                    switch wn.value {
                    case .number(let d, _): work = Array(repeating: d, count: 5)
                    case .array(let items) where items.count == 5:
                        work = items.map { if case .number(let d, _) = $0.value { d } else { 10 } }
                    default: sink.error(wn.position, "'work_days' is a number or five numbers (by complexity)")
                    }
                }
                let target = k.number("target_days")
                if let target, target < 0 {
                    sink.error(k.node("target_days")!.position, "'target_days' must not be negative")
                }
                k.finish()
                kinds.append(
                    (
                        m.key,
                        KindMix(
                            perYear: perYear, every: every, flags: flags, complexity: complexity, facts: facts,
                            workDays: work, targetDays: target)
                    ))
            }
        }
        var backlog: [String: Backlog] = [:]
        if let bn = o.node("backlog"), case .object(let members) = bn.value {
            for m in members {
                guard let b = ObjectFields(m.value, what: "backlog.\(m.key)", sink: sink) else { continue }
                if !kinds.contains(where: { $0.0 == m.key }) {
                    sink.error(m.keyPosition, "backlog of '\(m.key)', which 'arrivals' does not name")
                }
                let count = b.integer("count", required: true, in: 0...10_000_000) ?? 0
                let median = b.number("median_age_days", required: true) ?? 0
                let maxAge = b.number("max_age_days") ?? median * 8
                if median <= 0 || maxAge < median {
                    sink.error(m.value.position, "a backlog needs 0 < median_age_days <= max_age_days")
                }
                b.finish()
                backlog[m.key] = Backlog(count: count, medianAgeDays: median, maxAgeDays: maxAge)
            }
        } else if let bn = o.node("backlog") {
            sink.error(bn.position, "'backlog' is an object: kind -> { count, median_age_days, max_age_days }")
        }
        var acknowledgeAfter: DutyCore.Duration? = .hours(4)
        if let mn = o.node("managers"), let m = ObjectFields(mn, what: "managers", sink: sink) {
            if m.string("acknowledge_after") == "never" {
                acknowledgeAfter = nil
            } else if let d = m.duration("acknowledge_after") {
                acknowledgeAfter = d
            }
            m.finish()
        }
        var leave = 25.0
        var block = 5
        var sickness = 0.02
        var sickDays = 5
        if let an = o.node("absence"), let a = ObjectFields(an, what: "absence", sink: sink) {
            leave = a.number("leave_days_per_year") ?? leave
            block = a.integer("leave_block_days", in: 1...60) ?? block
            sickness = a.number("sickness_per_day") ?? sickness
            sickDays = a.integer("sickness_days", in: 1...120) ?? sickDays
            a.finish()
        }
        let fileCouncils = o.integer("councils", in: 1...1_000)
        let staffScale = o.integer("staff_scale", in: 1...50) ?? 1
        o.finish()
        guard !sink.hasErrors, let roster, let policies else {
            throw DutyError.invalid(sink.diagnostics, what: "scenario \(path)")
        }
        return Scenario(
            file: path, rosterPath: roster, policiesDir: policies, start: start, days: length, cycle: cycle,
            workingDays: working, kinds: kinds, backlog: backlog, acknowledgeAfter: acknowledgeAfter,
            leaveDaysPerYear: leave, leaveBlock: block, sicknessPerDay: sickness,
            sicknessDays: sickDays, councils: councils ?? fileCouncils ?? 1, staffScale: staffScale, baseline: nil)
    }
}

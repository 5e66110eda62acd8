import DutyCore

/// A rule every worker must pass to be considered for a referral.
public struct EligibilityRule: Sendable {
    public var id: String
    public var condition: Condition
    public var because: String
}

/// How workers are chosen (SPEC "Allocation policy").
public struct AllocationPolicy: Sendable {
    /// One key of the allocation order: the waiting list is sorted by each in turn, then by referral id.
    public enum OrderKey: String, Sendable, CaseIterable {
        /// The level's rank, highest first (aging rules included).
        case rank
        /// Within a rank, a referral there on its risk (its rules without aging rules, or a manager's pin, reach
        /// that rank) goes ahead of one there only by aging rules: lateness does not outrank risk.
        case risk
        /// Earliest due (`received + allocate_within`) first.
        case due
        /// Earliest received first.
        case received
    }

    /// The default allocation order: rank, then risk before aging, then earliest due, then earliest received.
    public static let defaultOrder: [OrderKey] = [.rank, .risk, .due, .received]

    public struct Preference: Sendable, Hashable {
        /// Weight for "this worker had this person before".
        public var continuity: Double
        /// Weight for a low load/capacity ratio.
        public var leastLoaded: Double
        /// Weight for a skill matching one of the referral's flags.
        public var specialism: Double
    }

    public var file: String
    public var defaultPoints: Double
    public var kindPoints: [String: Double]
    /// Multiplier by complexity 1-5.
    public var complexityFactor: [Int: Double]
    public let eligible: [EligibilityRule]
    /// The eligibility conditions alone, for evaluation without copying rules.
    let eligibleConditions: [Condition]
    public var prefer: Preference
    /// By level rank: don't allocate to someone whose absence starts within this time.
    public var absenceLookahead: [Int: Duration]
    /// Allocations at or above this rank need a manager's acknowledgement within `acknowledgeWithin`.
    public var acknowledgeMinRank: Int?
    public var acknowledgeWithin: Duration?
    /// By level rank: waiting longer than this escalates.
    public var escalateUnallocated: [Int: Duration]
    /// The allocation order (`order`), ending in referral id.
    public var order: [OrderKey] = AllocationPolicy.defaultOrder
    /// How many of a team's referrals blocked for lack of room, taken in allocation order, hold room on a worker
    /// (`reservations`, Slurm's backfill reservations): nothing else is given to that worker while it is held.
    /// 0 turns holding off.
    public var reservations = 1
    /// Room kept free on every worker for work at or above a rank on its risk, and for work past `max_wait`
    /// (`headroom`): other work may use a worker only while `points` stay free after it. Nil: none kept.
    public var headroom: Headroom?
    /// The bound on waiting (`max_wait`): a referral that has waited longer goes ahead of every other in the
    /// order, the longest waiting first, whatever its level, so that low priority still moves (the Ombudsman's
    /// Staffordshire finding, 2019). Nil: no bound.
    public var maxWait: Duration?
    /// `max_wait.yields_to`: work at or above this rank on its risk goes ahead even of work past `max_wait`, so a
    /// backlog older than the bound does not hold up new top-rank risk. Nil: the bound comes first.
    public var maxWaitYieldsTo: Int?

    public struct Headroom: Sendable, Hashable {
        /// Referrals whose rank on risk (without aging rules) is at least this may use the headroom.
        public var minRank: Int
        /// Caseload points kept free.
        public var points: Double
    }

    /// Index of the first `eligible` rule the context fails, or nil when it passes them all.
    public func firstFailingRule(_ context: RuleContext) -> Int? {
        for i in eligibleConditions.indices where !eligibleConditions[i].fn(context) { return i }
        return nil
    }

    /// Caseload points of a referral: the kind's points times the complexity factor.
    public func points(kind: String, complexity: Int) -> Double {
        (kindPoints[kind] ?? defaultPoints) * (complexityFactor[complexity] ?? 1)
    }

    static let preferKeys = ["continuity", "least_loaded", "specialism"]

    /// Reads the allocation policy. `ranks` maps each known rank to itself and each level name to its rank,
    /// so keys by rank may also be written as level names.
    static func parse(
        _ text: String, file: String, sink: DiagnosticSink, ranks: [String: Int]?, kinds: Set<String>?
    ) -> AllocationPolicy? {
        guard let root = NodeDecoding.parse(text, sink: sink),
            let o = ObjectFields(root, what: "the allocation policy", sink: sink)
        else { return nil }
        var defaultPoints = 1.0
        var kindPoints: [String: Double] = [:]
        var complexity: [Int: Double] = [1: 0.5, 2: 0.75, 3: 1, 4: 1.5, 5: 2]
        if let n = o.node("points"), let po = ObjectFields(n, what: "'points'", sink: sink) {
            if let d = po.number("default") {
                if d < 0 { sink.error(po.node("default")!.position, "points must not be negative") }
                defaultPoints = d
            }
            if let kn = po.node("kinds"), let ko = ObjectFields(kn, what: "'points.kinds'", sink: sink) {
                if case .object(let members) = kn.value {
                    for m in members {
                        guard let v = ko.number(m.key) else { continue }
                        if v < 0 { sink.error(m.value.position, "points must not be negative") }
                        if let kinds, !kinds.contains(m.key) {
                            sink.warning(m.keyPosition, "points for kind '\(m.key)', which no team handles")
                        }
                        kindPoints[m.key] = v
                    }
                }
                ko.finish()
            }
            if let cn = po.node("complexity"), let co = ObjectFields(cn, what: "'points.complexity'", sink: sink) {
                if case .object(let members) = cn.value {
                    for m in members {
                        guard let v = co.number(m.key) else { continue }
                        guard let c = Int(m.key), (1...5).contains(c) else {
                            sink.error(m.keyPosition, "complexity keys are \"1\" to \"5\", not '\(m.key)'")
                            continue
                        }
                        if v < 0 { sink.error(m.value.position, "a complexity factor must not be negative") }
                        complexity[c] = v
                    }
                }
                co.finish()
            }
            po.finish()
        }

        var eligible: [EligibilityRule] = []
        var ids = Set<String>()
        if let n = o.node("eligible") {
            if case .array(let items) = n.value {
                for item in items {
                    guard let ro = ObjectFields(item, what: "an eligibility rule", sink: sink) else { continue }
                    let id = ro.string("id", required: true)
                    let when = TriagePolicy.condition(ro, "when", scope: .allocation, sink: sink, required: true)
                    let because = ro.string("because", required: true)
                    ro.finish()
                    if let id, !ids.insert(id).inserted {
                        sink.error(ro.node("id")!.position, "duplicate rule id '\(id)'")
                    }
                    if let id, let when, let because {
                        eligible.append(EligibilityRule(id: id, condition: when, because: because))
                    }
                }
            } else {
                sink.error(n.position, "'eligible' must be a list of rules, not \(n.typeName)")
            }
        }

        var prefer = Preference(continuity: 0, leastLoaded: 1, specialism: 0)
        if let n = o.node("prefer"), let po = ObjectFields(n, what: "'prefer'", sink: sink) {
            func weight(_ key: String) -> Double? {
                guard let w = po.number(key) else { return nil }
                if w < 0 { sink.error(po.node(key)!.position, "'\(key)' weight must not be negative") }
                return w
            }
            prefer.continuity = weight("continuity") ?? 0
            prefer.leastLoaded = weight("least_loaded") ?? 0
            prefer.specialism = weight("specialism") ?? 0
            po.finish()
        }

        func byRank(_ key: String) -> [Int: Duration] {
            guard let n = o.node(key) else { return [:] }
            guard case .object(let members) = n.value else {
                sink.error(n.position, "'\(key)' must be an object of rank: duration, not \(n.typeName)")
                return [:]
            }
            var out: [Int: Duration] = [:]
            for m in members {
                guard let rank = resolveRank(m.key, at: m.keyPosition, key: key, ranks: ranks, sink: sink) else {
                    continue
                }
                guard let d = NodeDecoding.duration(m.value, sink: sink, what: "'\(key).\(m.key)'") else { continue }
                if out[rank] != nil { sink.error(m.keyPosition, "rank \(rank) appears twice in '\(key)'") }
                out[rank] = d
            }
            return out
        }
        let lookahead = byRank("absence_lookahead")
        let escalate = byRank("escalate_unallocated")

        /// A `min_rank` member: a rank number or a level name.
        func minRank(_ fields: ObjectFields, _ key: String, field: String = "min_rank") -> Int? {
            guard let rn = fields.node(field, required: true) else { return nil }
            switch rn.value {
            case .number(_, let i?): return resolveRank(String(i), at: rn.position, key: key, ranks: ranks, sink: sink)
            case .string(let s): return resolveRank(s, at: rn.position, key: key, ranks: ranks, sink: sink)
            default:
                sink.error(rn.position, "'\(field)' must be a rank number or a level name")
                return nil
            }
        }
        var ackRank: Int?
        var ackWithin: Duration?
        if let n = o.node("acknowledge"), let ao = ObjectFields(n, what: "'acknowledge'", sink: sink) {
            ackRank = minRank(ao, "acknowledge.min_rank")
            ackWithin = ao.duration("within", required: true)
            ao.finish()
        }
        var order = defaultOrder
        if let n = o.node("order") {
            if case .array(let items) = n.value, !items.isEmpty {
                order = []
                for item in items {
                    guard case .string(let s) = item.value, let key = OrderKey(rawValue: s) else {
                        let known = OrderKey.allCases.map(\.rawValue).joined(separator: ", ")
                        sink.error(item.position, "'order' takes \(known)")
                        continue
                    }
                    if order.contains(key) { sink.error(item.position, "'\(s)' appears twice in 'order'") }
                    order.append(key)
                }
            } else {
                sink.error(n.position, "'order' must be a non-empty list of keys, such as [\"rank\", \"due\"]")
            }
        }
        let reservations = o.integer("reservations", in: 0...100) ?? 1
        var maxWait: Duration?
        var yieldsTo: Int?
        if let n = o.node("max_wait") {
            if case .object = n.value, let mo = ObjectFields(n, what: "'max_wait'", sink: sink) {
                maxWait = mo.duration("after", required: true)
                if mo.node("yields_to") != nil { yieldsTo = minRank(mo, "max_wait.yields_to", field: "yields_to") }
                mo.finish()
            } else {
                maxWait = o.duration("max_wait")
            }
        }
        var headroom: Headroom?
        if let n = o.node("headroom"), let ho = ObjectFields(n, what: "'headroom'", sink: sink) {
            let minRank = minRank(ho, "headroom.min_rank")
            let points = ho.number("points", required: true)
            if let points, points < 0 { sink.error(ho.node("points")!.position, "'points' must not be negative") }
            ho.finish()
            if let minRank, let points { headroom = Headroom(minRank: minRank, points: points) }
        }
        o.finish()
        var policy = AllocationPolicy(
            file: file, defaultPoints: defaultPoints, kindPoints: kindPoints, complexityFactor: complexity,
            eligible: eligible, eligibleConditions: eligible.map(\.condition), prefer: prefer,
            absenceLookahead: lookahead, acknowledgeMinRank: ackRank,
            acknowledgeWithin: ackWithin, escalateUnallocated: escalate)
        policy.order = order
        policy.reservations = reservations
        policy.headroom = headroom
        policy.maxWait = maxWait
        policy.maxWaitYieldsTo = yieldsTo
        return policy
    }

    private static func resolveRank(
        _ key: String, at position: SourcePosition, key what: String, ranks: [String: Int]?, sink: DiagnosticSink
    ) -> Int? {
        if let ranks {
            if let r = ranks[key], r > 0 { return r }
            if ranks[key] == 0 {
                sink.error(
                    position, "'\(what)': level '\(key)' has different ranks in different policies: use a rank number")
                return nil
            }
            let known = Set(ranks.values).subtracting([0]).sorted().map(String.init).joined(separator: ", ")
            sink.error(position, "'\(what)': '\(key)' is not a rank or level of any triage policy (ranks: \(known))")
            return nil
        }
        guard let r = Int(key), r > 0 else {
            sink.error(position, "'\(what)': '\(key)' must be a rank number")
            return nil
        }
        return r
    }
}

import DutyCore
import DutyPolicy
import Foundation

/// The engine: a snapshot and `now` in, decisions out. It never touches files, SQLite, sockets or the clock,
/// so the daemon, `duty policy diff`, the simulator and the benchmark all drive the same code.
///
/// A cycle runs, in order: triage (rate new and updated referrals, re-rate every waiting one), allocation
/// (top-rank risk under the allocation policy's `max_wait.yields_to`, then referrals past its `max_wait`, then
/// its `order`: by default rank, risk before aging, earliest due, earliest received, then id), and oversight (acknowledgements, waits and managers to
/// escalate, reviews due). The same snapshot and `now` always give the same plan.
public enum Engine {
    public static func plan(_ snapshot: Snapshot, now: Date) -> Plan {
        let presence = Presence(absences: snapshot.absences, now: now)
        var plan = Plan(decisions: [], reviewsDue: [])
        plan.now = now
        let index = CycleIndex(snapshot)
        var contexts: [RuleContext?] = []
        let ratings = triage(snapshot, index: index, now: now, into: &plan, contexts: &contexts)
        let allocator = Allocator(
            snapshot: snapshot, index: index, ratings: ratings, contexts: contexts, presence: presence, now: now)
        allocator.run()
        plan.decisions += allocator.decisions
        plan.positions += allocator.positions
        plan.alerts = allocator.capacityAlerts(standing: snapshot.capacityAlerts)
        let oversight = Oversight(snapshot: snapshot, index: index, ratings: ratings, presence: presence, now: now)
        let escalations =
            allocator.escalationDecisions
            + oversight.escalations(assigned: allocator.assignedThisCycle, raisedNow: allocator.escalationKeys)
        for (i, e) in escalations {
            plan.decisions.append(.escalated(e))
            plan.positions.append(i)
        }
        for (i, due) in oversight.reviewsDue(assigned: allocator.assignedThisCycle) {
            plan.reviewsDue.append(due)
            plan.reviewPositions.append(i)
        }
        return plan
    }

    /// Every candidate worker for one referral, with score parts or the check that excluded it, against the
    /// snapshot's loads (or `loads`, by worker id, where given): what `duty why` shows for a waiting referral.
    /// Nil when the referral is not open or cannot be rated.
    public static func candidates(
        for id: String, in snapshot: Snapshot, now: Date, loads: [String: Double] = [:]
    ) -> [Candidate]? {
        guard let i = snapshot.referrals.firstIndex(where: { $0.referral.id == id }) else { return nil }
        var ignored = Plan(decisions: [], reviewsDue: [])
        let index = CycleIndex(snapshot)
        var contexts: [RuleContext?] = []
        let ratings = triage(snapshot, index: index, now: now, into: &ignored, contexts: &contexts)
        guard let rank = ratings.rank[i] else { return nil }
        let allocator = Allocator(
            snapshot: snapshot, index: index, ratings: ratings, contexts: contexts,
            presence: Presence(absences: snapshot.absences, now: now), now: now)
        for (worker, load) in loads.sorted(by: { $0.key < $1.key }) { allocator.setLoad(worker: worker, to: load) }
        return allocator.candidates(i, rank: rank)
    }

    /// A manager's pin over the policy's level: the pinned level, unless the policy's rank has risen above both
    /// the pin and the policy's rank when it was pinned (then the policy's level, and the pin is raised).
    static func applyPin(_ pin: Pin?, policyLevel: Int, policy: TriagePolicy) -> (level: Int, pinRaised: Bool) {
        guard let pin else { return (policyLevel, false) }
        let policyRank = policy.levels[policyLevel].rank
        if policyRank > pin.rank && policyRank > pin.policyRank { return (policyLevel, true) }
        let pinned =
            policy.levels.firstIndex { $0.name == pin.level } ?? policy.levels.firstIndex { $0.rank == pin.rank }
        return (pinned ?? policyLevel, false)
    }

    /// The rating a referral gets under `policies` at `now`, pins honoured: what `duty policy diff` compares.
    public static func rate(_ referral: Referral, pin: Pin?, policies: PolicySet, roster: Roster, now: Date) -> Rating?
    {
        var referral = referral
        if referral.team == nil { referral.team = roster.teamForKind[referral.kind] }
        guard let policy = policies.policy(for: referral) else { return nil }
        var matched: [Int] = []
        let context = RuleContext(referral: referral, now: now, timeZone: policies.timeZone)
        let (index, _) = applyPin(pin, policyLevel: policy.evaluate(context, matched: &matched), policy: policy)
        let level = policy.levels[index]
        return Rating(
            policy: policy.id, policyVersion: policy.version, level: level.name, rank: level.rank,
            rules: matched.map { policy.rules[$0].id },
            due: policy.due(level: level, matched: matched, context: context))
    }

    /// Rates what needs rating and returns every open referral's effective rating (nil when none can be given).
    /// Decisions come out in referral id order. `contexts` gets the rule context of each referral rated, for the
    /// allocator to reuse.
    static func triage(
        _ snapshot: Snapshot, index: CycleIndex, now: Date, into plan: inout Plan, contexts: inout [RuleContext?]
    ) -> Ratings {
        contexts = Array(repeating: nil, count: snapshot.referrals.count)
        var ratings = Ratings(snapshot.referrals)
        var changed: [(Int, Decision)] = []
        var matched: [Int] = []
        matched.reserveCapacity(16)
        let referrals = snapshot.referrals
        let triage = snapshot.policies.triage
        let zone = snapshot.policies.timeZone
        for i in referrals.indices {
            guard referrals[i].needsRating || referrals[i].allocation == nil || referrals[i].rating == nil else {
                continue
            }
            var referral = referrals[i].referral
            if referral.team == nil, index.team[i] >= 0 { referral.team = index.teamIDs[index.team[i]] }
            let k = index.kind[i]
            guard
                let policy = k >= 0 && index.policyOfKind[k] >= 0
                    ? triage[index.policyOfKind[k]] : snapshot.policies.policy(for: referral)
            else { continue }
            let context = RuleContext(referral: referral, now: now, timeZone: zone)
            contexts[i] = context
            let policyLevel = policy.evaluate(context, matched: &matched)
            let (levelIndex, pinRaised) = applyPin(referrals[i].pin, policyLevel: policyLevel, policy: policy)
            let level = policy.levels[levelIndex]
            ratings.reviewEvery[i] = level.reviewEvery
            ratings.reviewRated[i] = true
            // A manager's pin is a judgement of risk; otherwise aging rules do not count towards it.
            let pinned = referrals[i].pin != nil && !pinRaised
            ratings.riskRank[i] = pinned ? level.rank : policy.levels[policy.riskLevel(matched: matched)].rank
            let due = policy.due(level: level, matched: matched, context: context)
            if let old = referrals[i].rating, !pinRaised, old.level == level.name, old.rank == level.rank,
                old.due == due, old.policy == policy.id, old.policyVersion == policy.version,
                old.rules.count == matched.count, zip(old.rules, matched).allSatisfy({ $0.0 == policy.rules[$0.1].id })
            {
                continue  // unchanged: nothing to log, nothing allocated
            }
            let rating = Rating(
                policy: policy.id, policyVersion: policy.version, level: level.name, rank: level.rank,
                rules: matched.map { policy.rules[$0].id }, due: due)
            ratings.set(i, rating)
            if let old = referrals[i].rating {
                changed.append((i, .rerated(referral: referral.id, from: old, to: rating, pinRaised: pinRaised)))
            } else {
                changed.append((i, .rated(referral: referral.id, rating: rating, explanation: rating.rules)))
            }
        }
        changed.sort { referrals[$0.0].referral.id < referrals[$1.0].referral.id }
        for (i, decision) in changed {
            plan.decisions.append(decision)
            plan.positions.append(i)
        }
        return ratings
    }
}

/// Every open referral's effective rating after triage: the one triage just gave, else the snapshot's. Rank and
/// due are kept as arrays, read on every step of allocation; whole ratings are not copied.
struct Ratings {
    private let referrals: [OpenReferral]
    private var changed: [Int: Rating] = [:]
    /// Per referral: the rank, nil when it has no rating.
    private(set) var rank: [Int?]
    /// Per referral: the due time in seconds since 1970 (0 when it has no rating).
    private(set) var due: [Double]
    /// Per referral triage evaluated in this cycle (every waiting one): the rank its risk reaches without aging
    /// rules (`TriagePolicy.riskLevel`); else its rank.
    var riskRank: [Int]
    /// Per referral rated in this cycle (`reviewRated`): its level's `review_every`, nil for none; when triage
    /// did not rate it, look the rating's level up.
    var reviewEvery: [Duration?]
    var reviewRated: [Bool]

    init(_ referrals: [OpenReferral]) {
        self.referrals = referrals
        rank = referrals.indices.map { referrals[$0].rating?.rank }
        due = referrals.indices.map { referrals[$0].rating?.due.timeIntervalSince1970 ?? 0 }
        riskRank = referrals.indices.map { referrals[$0].rating?.rank ?? 0 }
        reviewEvery = Array(repeating: nil, count: referrals.count)
        reviewRated = Array(repeating: false, count: referrals.count)
    }

    mutating func set(_ i: Int, _ rating: Rating) {
        changed[i] = rating
        rank[i] = rating.rank
        due[i] = rating.due.timeIntervalSince1970
    }

    func rating(_ i: Int) -> Rating? { changed[i] ?? referrals[i].rating }
}

/// Who is away at `now`, and when each worker's next absence starts.
struct Presence {
    let now: Date
    private var absentNow: Set<String> = []
    private var nextStart: [String: Date] = [:]

    init(absences: [Absence], now: Date) {
        self.now = now
        for a in absences where a.to > now {
            if a.covers(now) { absentNow.insert(a.worker) }
            let start = max(a.from, now)
            if let s = nextStart[a.worker], s <= start { continue }
            nextStart[a.worker] = start
        }
    }

    func isAbsent(_ worker: String) -> Bool { absentNow.contains(worker) }

    /// When the worker's current or next absence starts (now, when absent now); nil when none is recorded.
    func nextAbsence(_ worker: String) -> Date? { nextStart[worker] }

    /// The first present person of a team's chain (SPEC "Accountable manager").
    func accountable(team: String, roster: Roster) -> Accountable {
        let chain = roster.chain(forTeam: team)
        let teamManager = roster.teamByID[team]?.manager
        var skipped: [String] = []
        for (i, person) in chain.enumerated() {
            if isAbsent(person) {
                skipped.append(person)
                continue
            }
            let fallback = person != teamManager
            let reason: String? = fallback ? (teamManager == nil ? "no_team_manager" : "manager_absent") : nil
            return Accountable(
                manager: person, position: i, fallback: fallback, fallbackReason: reason, skipped: skipped)
        }
        return Accountable(
            manager: nil, position: chain.count, fallback: true, fallbackReason: "no_manager_available",
            skipped: skipped)
    }
}

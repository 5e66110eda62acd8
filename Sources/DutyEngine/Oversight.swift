import DutyCore
import DutyPolicy
import Foundation

/// Acknowledgements, escalations and reviews (SPEC "The cycle", step 5).
///
/// Escalations climb the accountable chain one present person per step, never skipping one: an unacknowledged
/// top-rank allocation goes to the next present person after its accountable manager once `acknowledge.within`
/// has passed; a waiting referral goes to the first present person in the chain once its rank's
/// `escalate_unallocated` has passed. Step k is raised when k periods have passed since the start and at least
/// one period since step k - 1, however late a cycle runs (so a cycle after a long gap tells the next person, not
/// the top of the chain). A step beyond the top of the chain stays with the top; `to` is null only when nobody in
/// the chain is present. Each (referral, cause, chain position) is raised once.
struct Oversight {
    let snapshot: Snapshot
    let index: CycleIndex
    let ratings: Ratings
    let presence: Presence
    let now: Date

    /// Each team's chain, and its present members with their positions, by team position, worked out once per
    /// cycle; a team the roster does not have has an empty chain.
    private let chains: [[String]]
    private let presentMembers: [[(String, Int)]]
    /// `escalate_unallocated` by rank (nil for none), for ranks 0 up to the highest it names.
    private let unallocatedPeriod: [Duration?]

    init(snapshot: Snapshot, index: CycleIndex, ratings: Ratings, presence: Presence, now: Date) {
        self.snapshot = snapshot
        self.index = index
        self.ratings = ratings
        self.presence = presence
        self.now = now
        chains = index.teamIDs.map { snapshot.roster.chain(forTeam: $0) }
        presentMembers = chains.map { chain in
            chain.enumerated().compactMap { presence.isAbsent($0.element) ? nil : ($0.element, $0.offset) }
        }
        let periods = snapshot.policies.allocation.escalateUnallocated
        unallocatedPeriod = (0...max(0, periods.keys.max() ?? 0)).map { periods[$0] }
    }

    private var allocation: AllocationPolicy { snapshot.policies.allocation }

    private func chain(_ team: Int) -> [String] { team >= 0 ? chains[team] : [] }

    /// Whom step `step` (1-based) up the present chain from `start` reaches, and their chain position: the last
    /// present person when the chain runs out, nobody (at the chain's length) when nobody is present.
    private func target(team: Int, from start: Int, step: Int) -> (to: String?, position: Int) {
        guard team >= 0 else { return (nil, 0) }
        var last: (String, Int)? = nil
        var n = 0
        for member in presentMembers[team] where member.1 >= start {
            n += 1
            last = member
            if n == step { break }
        }
        guard let last else { return (nil, chains[team].count) }
        return last
    }

    /// Escalations to raise, each with the index of its referral, in referral id then reason order. `assigned`
    /// says which referrals the allocator assigned in this cycle.
    func escalations(assigned: [Bool], raisedNow: Set<EscalationKey>) -> [(Int, EscalationDecision)] {
        var out: [(Int, EscalationDecision)] = []
        var seen = raisedNow
        // Steps raised so far, per referral and cause.
        var raised: [String: Int] = [:]
        for key in snapshot.escalations {
            raised[EscalationKey.step(referral: key.referral, reason: key.reason), default: 0] += 1
        }
        let referrals = snapshot.referrals
        for i in referrals.indices {
            let team = index.team[i]
            guard let rank = ratings.rank[i], team != CycleIndex.noTeam else { continue }
            let reason: EscalationReason
            let since: Date
            let start: Int
            let elapsedSteps: Int
            let period: Duration
            let zone = snapshot.policies.timeZone
            if let a = referrals[i].allocation {
                // Acknowledgement overdue.
                guard let minRank = allocation.acknowledgeMinRank, let within = allocation.acknowledgeWithin,
                    rank >= minRank, a.acknowledged == nil, within.seconds > 0
                else { continue }
                (reason, since) = (.ackOverdue, a.at)
                period = within
                elapsedSteps = within.periods(from: a.at, to: now, in: zone)
                start = a.manager.flatMap { chain(team).firstIndex(of: $0) }.map { $0 + 1 } ?? 0
            } else if !assigned[i] {
                // Waiting too long.
                guard rank >= 0 && rank < unallocatedPeriod.count, let p = unallocatedPeriod[rank], p.seconds > 0
                else { continue }
                period = p
                (reason, since) = (.unallocatedOverdue, referrals[i].referral.received)
                elapsedSteps = p.periods(from: since, to: now, in: zone)
                start = 0
            } else {
                continue
            }
            let stepKey = EscalationKey.step(referral: referrals[i].referral.id, reason: reason)
            let steps = (raised[stepKey] ?? 0) + 1
            guard elapsedSteps >= steps else { continue }
            if let last = snapshot.lastStep[stepKey], !period.hasPassed(since: last, at: now, in: zone) { continue }
            let (to, position) = target(team: team, from: start, step: steps)
            let key = EscalationKey(referral: referrals[i].referral.id, reason: reason, position: position)
            guard !snapshot.escalations.contains(key), seen.insert(key).inserted else { continue }
            let e = EscalationDecision(referral: key.referral, reason: reason, to: to, position: position, since: since)
            out.append((i, e))
        }
        out.sort { a, b in
            a.1.referral != b.1.referral ? a.1.referral < b.1.referral : a.1.reason.rawValue < b.1.reason.rawValue
        }
        return out
    }

    /// Waiting referrals whose level's `review_every` has passed since the last review (or since received).
    /// Each with the index of its referral, in referral id order.
    func reviewsDue(assigned: [Bool]) -> [(Int, ReviewDue)] {
        // Policy ids and level names are unique (the loader checks), and there are a few of each: a scan costs
        // less than hashing two names per waiting referral.
        let policies = snapshot.policies.triage
        func reviewEvery(_ rating: Rating) -> Duration? {
            policies.first { $0.id == rating.policy }?.levels.first { $0.name == rating.level }?.reviewEvery
        }
        let zone = snapshot.policies.timeZone
        var out: [(Int, ReviewDue)] = []
        let referrals = snapshot.referrals
        for i in referrals.indices where referrals[i].allocation == nil && !assigned[i] {
            let team = index.team[i]
            guard team != CycleIndex.noTeam, ratings.rank[i] != nil else { continue }
            guard let every = ratings.reviewRated[i] ? ratings.reviewEvery[i] : ratings.rating(i).flatMap(reviewEvery)
            else { continue }
            let since = referrals[i].lastReview ?? referrals[i].referral.received
            guard every.hasPassed(since: since, at: now, in: zone) else { continue }
            let due = every.after(since, in: zone)
            let manager = team >= 0 ? presentMembers[team].first?.0 : nil
            out.append((i, ReviewDue(referral: referrals[i].referral.id, due: due, manager: manager)))
        }
        return out.sorted { $0.1.referral < $1.1.referral }
    }
}

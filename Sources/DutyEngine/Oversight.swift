import DutyCore
import DutyPolicy
import Foundation

/// Acknowledgements, escalations and reviews (SPEC "The cycle", step 5).
///
/// Escalations climb the accountable chain one present person per period: an unacknowledged top-rank allocation
/// goes to the next present person after its accountable manager once `acknowledge.within` has passed, to the
/// one after that at twice `within`, and so on; a waiting referral goes to the first present person in the chain
/// once its rank's `escalate_unallocated` has passed, the next at twice that, and so on. A step beyond the top
/// of the chain stays with the top; `to` is null only when nobody in the chain is present. Each (referral, cause,
/// chain position) is raised once.
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
    }

    private var allocation: AllocationPolicy { snapshot.policies.allocation }

    private func chain(_ team: Int) -> [String] { team >= 0 ? chains[team] : [] }

    /// Present chain members at or after `start`, with their positions.
    private func present(team: Int, from start: Int) -> [(String, Int)] {
        let all = team >= 0 ? presentMembers[team] : []
        return start <= 0 ? all : all.filter { $0.1 >= start }
    }

    /// The escalation for step `step` (1-based) up the present chain from `start`.
    private func escalation(
        _ referral: String, team: Int, from start: Int, step: Int, reason: EscalationReason, since: Date
    ) -> EscalationDecision {
        let targets = present(team: team, from: start)
        guard !targets.isEmpty else {
            return EscalationDecision(
                referral: referral, reason: reason, to: nil, position: chain(team).count, since: since)
        }
        let (to, position) = targets[min(step, targets.count) - 1]
        return EscalationDecision(referral: referral, reason: reason, to: to, position: position, since: since)
    }

    /// Escalations to raise, each with the index of its referral, in referral id then reason order.
    func escalations(assigned: [Int: String], raisedNow: Set<EscalationKey>) -> [(Int, EscalationDecision)] {
        var out: [(Int, EscalationDecision)] = []
        var seen = raisedNow
        func raise(_ e: EscalationDecision, _ i: Int) {
            let key = EscalationKey(referral: e.referral, reason: e.reason, position: e.position)
            guard !snapshot.escalations.contains(key), seen.insert(key).inserted else { return }
            out.append((i, e))
        }
        let referrals = snapshot.referrals
        for i in referrals.indices {
            let team = index.team[i]
            guard let rank = ratings.rank[i], team != CycleIndex.noTeam else { continue }
            if let a = referrals[i].allocation {
                // Acknowledgement overdue.
                guard let minRank = allocation.acknowledgeMinRank, let within = allocation.acknowledgeWithin,
                    rank >= minRank, a.acknowledged == nil, within.seconds > 0
                else { continue }
                let steps = Int(now.timeIntervalSince(a.at) / within.timeInterval)
                guard steps >= 1 else { continue }
                let start = a.manager.flatMap { chain(team).firstIndex(of: $0) }.map { $0 + 1 } ?? 0
                raise(
                    escalation(
                        referrals[i].referral.id, team: team, from: start, step: steps, reason: .ackOverdue, since: a.at
                    ), i)
            } else if assigned[i] == nil {
                // Waiting too long.
                guard let period = allocation.escalateUnallocated[rank], period.seconds > 0 else { continue }
                let received = referrals[i].referral.received
                let steps = Int(now.timeIntervalSince(received) / period.timeInterval)
                guard steps >= 1 else { continue }
                raise(
                    escalation(
                        referrals[i].referral.id, team: team, from: 0, step: steps, reason: .unallocatedOverdue,
                        since: received), i)
            }
        }
        out.sort { ($0.1.referral, $0.1.reason.rawValue) < ($1.1.referral, $1.1.reason.rawValue) }
        return out
    }

    /// Waiting referrals whose level's `review_every` has passed since the last review (or since received).
    /// Each with the index of its referral, in referral id order.
    func reviewsDue(assigned: [Int: String]) -> [(Int, ReviewDue)] {
        // Policy ids and level names are unique (the loader checks), and there are a few of each: a scan costs
        // less than hashing two names per waiting referral.
        let policies = snapshot.policies.triage
        func reviewEvery(_ rating: Rating) -> Double? {
            policies.first { $0.id == rating.policy }?.levels.first { $0.name == rating.level }?.reviewEvery?
                .timeInterval
        }
        var out: [(Int, ReviewDue)] = []
        let referrals = snapshot.referrals
        for i in referrals.indices where referrals[i].allocation == nil && assigned[i] == nil {
            let team = index.team[i]
            guard team != CycleIndex.noTeam, let rating = ratings.rating(i), let seconds = reviewEvery(rating) else { continue }
            let due = (referrals[i].lastReview ?? referrals[i].referral.received).addingTimeInterval(seconds)
            guard now >= due else { continue }
            out.append(
                (i, ReviewDue(referral: referrals[i].referral.id, due: due, manager: present(team: team, from: 0).first?.0)))
        }
        return out.sorted { $0.1.referral < $1.1.referral }
    }
}

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
    let ratings: [Rating?]
    let presence: Presence
    let now: Date

    /// Each team's chain, and its present members with their positions, worked out once per cycle.
    private let chains: [String: [String]]
    private let presentMembers: [String: [(String, Int)]]

    init(snapshot: Snapshot, ratings: [Rating?], presence: Presence, now: Date) {
        self.snapshot = snapshot
        self.ratings = ratings
        self.presence = presence
        self.now = now
        var chains: [String: [String]] = [:]
        var present: [String: [(String, Int)]] = [:]
        for team in snapshot.roster.teams {
            let chain = snapshot.roster.chain(forTeam: team.id)
            chains[team.id] = chain
            present[team.id] = chain.enumerated().compactMap {
                presence.isAbsent($0.element) ? nil : ($0.element, $0.offset)
            }
        }
        self.chains = chains
        presentMembers = present
    }

    private var allocation: AllocationPolicy { snapshot.policies.allocation }

    private func team(_ r: Referral) -> String? { r.team ?? snapshot.roster.teamForKind[r.kind] }

    /// Present chain members at or after `start`, with their positions.
    private func present(team: String, from start: Int) -> [(String, Int)] {
        let all = presentMembers[team] ?? []
        return start <= 0 ? all : all.filter { $0.1 >= start }
    }

    /// The escalation for step `step` (1-based) up the present chain from `start`.
    private func escalation(
        _ referral: String, team: String, from start: Int, step: Int, reason: EscalationReason, since: Date
    ) -> EscalationDecision {
        let targets = present(team: team, from: start)
        guard !targets.isEmpty else {
            return EscalationDecision(
                referral: referral, reason: reason, to: nil, position: chains[team]?.count ?? 0, since: since)
        }
        let (to, position) = targets[min(step, targets.count) - 1]
        return EscalationDecision(referral: referral, reason: reason, to: to, position: position, since: since)
    }

    func escalations(assigned: [Int: String], raisedNow: Set<EscalationKey>) -> [Decision] {
        var out: [EscalationDecision] = []
        var seen = raisedNow
        func raise(_ e: EscalationDecision) {
            let key = EscalationKey(referral: e.referral, reason: e.reason, position: e.position)
            guard !snapshot.escalations.contains(key), seen.insert(key).inserted else { return }
            out.append(e)
        }
        let referrals = snapshot.referrals
        for i in referrals.indices {
            guard let rank = ratings[i]?.rank, let team = team(referrals[i].referral) else { continue }
            if let a = referrals[i].allocation {
                // Acknowledgement overdue.
                guard let minRank = allocation.acknowledgeMinRank, let within = allocation.acknowledgeWithin,
                    rank >= minRank, a.acknowledged == nil, within.seconds > 0
                else { continue }
                let steps = Int(now.timeIntervalSince(a.at) / within.timeInterval)
                guard steps >= 1 else { continue }
                let start = a.manager.flatMap { chains[team]?.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
                raise(
                    escalation(
                        referrals[i].referral.id, team: team, from: start, step: steps, reason: .ackOverdue, since: a.at
                    ))
            } else if assigned[i] == nil {
                // Waiting too long.
                guard let period = allocation.escalateUnallocated[rank], period.seconds > 0 else { continue }
                let received = referrals[i].referral.received
                let steps = Int(now.timeIntervalSince(received) / period.timeInterval)
                guard steps >= 1 else { continue }
                raise(
                    escalation(
                        referrals[i].referral.id, team: team, from: 0, step: steps, reason: .unallocatedOverdue,
                        since: received))
            }
        }
        out.sort { ($0.referral, $0.reason.rawValue) < ($1.referral, $1.reason.rawValue) }
        return out.map { .escalated($0) }
    }

    /// Waiting referrals whose level's `review_every` has passed since the last review (or since received).
    func reviewsDue(assigned: [Int: String]) -> [ReviewDue] {
        var every: [String: [String: Double]] = [:]  // policy -> level -> seconds
        for p in snapshot.policies.triage {
            for l in p.levels { if let r = l.reviewEvery { every[p.id, default: [:]][l.name] = r.timeInterval } }
        }
        var out: [ReviewDue] = []
        let referrals = snapshot.referrals
        for i in referrals.indices where referrals[i].allocation == nil && assigned[i] == nil {
            guard let rating = ratings[i], let team = team(referrals[i].referral),
                let seconds = every[rating.policy]?[rating.level]
            else { continue }
            let due = (referrals[i].lastReview ?? referrals[i].referral.received).addingTimeInterval(seconds)
            guard now >= due else { continue }
            out.append(ReviewDue(referral: referrals[i].referral.id, due: due, manager: presentMembers[team]?.first?.0))
        }
        return out.sorted { $0.referral < $1.referral }
    }
}

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

    private var allocation: AllocationPolicy { snapshot.policies.allocation }

    private func team(_ r: Referral) -> String? { r.team ?? snapshot.roster.teamForKind[r.kind] }

    /// Present chain members at or after `start`, with their positions.
    private func present(team: String, from start: Int) -> [(String, Int)] {
        let chain = snapshot.roster.chain(forTeam: team)
        guard start < chain.count else { return [] }
        return (max(0, start)..<chain.count).compactMap { presence.isAbsent(chain[$0]) ? nil : (chain[$0], $0) }
    }

    /// The escalation for step `step` (1-based) up the present chain from `start`.
    private func escalation(
        _ referral: String, team: String, from start: Int, step: Int, reason: EscalationReason, since: Date
    ) -> EscalationDecision {
        let targets = present(team: team, from: start)
        guard !targets.isEmpty else {
            return EscalationDecision(
                referral: referral, reason: reason, to: nil, position: snapshot.roster.chain(forTeam: team).count,
                since: since)
        }
        let (to, position) = targets[min(step, targets.count) - 1]
        return EscalationDecision(referral: referral, reason: reason, to: to, position: position, since: since)
    }

    func escalations(assigned: [Int: String], raisedNow: Set<EscalationKey>) -> [Decision] {
        var out: [EscalationDecision] = []
        for (i, open) in snapshot.referrals.enumerated() {
            guard let rating = ratings[i], let team = team(open.referral) else { continue }
            let id = open.referral.id
            if let a = open.allocation {
                // Acknowledgement overdue.
                guard let minRank = allocation.acknowledgeMinRank, let within = allocation.acknowledgeWithin,
                    rating.rank >= minRank, a.acknowledged == nil, within.seconds > 0
                else { continue }
                let steps = Int(now.timeIntervalSince(a.at) / within.timeInterval)
                guard steps >= 1 else { continue }
                let chain = snapshot.roster.chain(forTeam: team)
                let start = a.manager.flatMap { chain.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
                out.append(escalation(id, team: team, from: start, step: steps, reason: .ackOverdue, since: a.at))
            } else if assigned[i] == nil {
                // Waiting too long.
                guard let period = allocation.escalateUnallocated[rating.rank], period.seconds > 0 else { continue }
                let steps = Int(now.timeIntervalSince(open.referral.received) / period.timeInterval)
                guard steps >= 1 else { continue }
                out.append(
                    escalation(
                        id, team: team, from: 0, step: steps, reason: .unallocatedOverdue, since: open.referral.received
                    ))
            }
        }
        var decisions: [Decision] = []
        var seen = raisedNow
        for e in out.sorted(by: { ($0.referral, $0.reason.rawValue) < ($1.referral, $1.reason.rawValue) }) {
            let key = EscalationKey(referral: e.referral, reason: e.reason, position: e.position)
            guard !snapshot.escalations.contains(key), seen.insert(key).inserted else { continue }
            decisions.append(.escalated(e))
        }
        return decisions
    }

    /// Waiting referrals whose level's `review_every` has passed since the last review (or since received).
    func reviewsDue(assigned: [Int: String]) -> [ReviewDue] {
        var out: [ReviewDue] = []
        for (i, open) in snapshot.referrals.enumerated() where open.isWaiting && assigned[i] == nil {
            guard let rating = ratings[i], let team = team(open.referral),
                let policy = snapshot.policies.triage.first(where: { $0.id == rating.policy }),
                let every = policy.level(named: rating.level)?.reviewEvery
            else { continue }
            let due = (open.lastReview ?? open.referral.received).addingTimeInterval(every.timeInterval)
            guard now >= due else { continue }
            out.append(
                ReviewDue(
                    referral: open.referral.id, due: due,
                    manager: presence.accountable(team: team, roster: snapshot.roster).manager))
        }
        return out.sorted { $0.referral < $1.referral }
    }
}

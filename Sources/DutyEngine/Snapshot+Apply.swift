import DutyCore
import Foundation

extension Snapshot {
    /// The state after a plan's decisions: the fold the store's projections must agree with. Used by the
    /// simulator and by tests (a second plan on the result, at the same `now`, is empty).
    public func applying(_ plan: Plan, now: Date) -> Snapshot {
        var next = self
        var index: [String: Int] = [:]
        for (i, open) in next.referrals.enumerated() {
            index[open.referral.id] = i
            next.referrals[i].needsRating = false
        }
        for decision in plan.decisions {
            guard let i = index[decision.referral] else { continue }
            switch decision {
            case .rated(_, let rating, _):
                next.referrals[i].rating = rating
            case .rerated(_, _, let to, let pinRaised):
                next.referrals[i].rating = to
                if pinRaised { next.referrals[i].pin = nil }
            case .assigned(let a):
                next.referrals[i].allocation = AllocationRecord(
                    worker: a.worker, manager: a.accountable.manager, at: now)
                next.referrals[i].blocked = nil
                next.lastWorker[next.referrals[i].referral.person] = a.worker
            case .blocked(_, let reason, _, _):
                next.referrals[i].blocked = reason
            case .escalated(let e):
                next.escalations.insert(EscalationKey(referral: e.referral, reason: e.reason, position: e.position))
            }
        }
        return next
    }
}

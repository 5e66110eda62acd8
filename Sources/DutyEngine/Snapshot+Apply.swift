import DutyCore
import Foundation

extension Snapshot {
    /// The state after a plan's decisions: the fold the store's projections must agree with. Used by the
    /// simulator and by tests (a second plan on the result, at the same `now`, is empty).
    public func applying(_ plan: Plan, now: Date) -> Snapshot {
        var next = self
        next.apply(plan, now: now)
        return next
    }

    /// `applying` in place, so a caller that keeps one snapshot (the simulator) does not copy every referral.
    public mutating func apply(_ plan: Plan, now: Date) {
        for i in referrals.indices { referrals[i].needsRating = false }
        for alert in plan.alerts {
            if alert.exceeded { capacityAlerts.insert(alert.team) } else { capacityAlerts.remove(alert.team) }
        }
        // The plan's positions, when they are this snapshot's; otherwise an index by id.
        var index: [String: Int]? = nil
        for (k, decision) in plan.decisions.enumerated() {
            let id = decision.referral
            var i = k < plan.positions.count ? plan.positions[k] : -1
            if i < 0 || i >= referrals.count || referrals[i].referral.id != id {
                if index == nil {
                    index = Dictionary(
                        referrals.indices.map { (referrals[$0].referral.id, $0) }, uniquingKeysWith: { a, _ in a })
                }
                guard let known = index?[id] else { continue }
                i = known
            }
            switch decision {
            case .rated(_, let rating, _):
                referrals[i].rating = rating
            case .rerated(_, _, let to, let pinRaised):
                referrals[i].rating = to
                if pinRaised { referrals[i].pin = nil }
            case .assigned(let a):
                referrals[i].allocation = AllocationRecord(worker: a.worker, manager: a.accountable.manager, at: now)
                referrals[i].blocked = nil
                referrals[i].heldOn = nil
                lastWorker[referrals[i].referral.person] = a.worker
            case .blocked(_, let reason, _, _, let held):
                referrals[i].blocked = reason
                referrals[i].heldOn = held
            case .escalated(let e):
                escalations.insert(EscalationKey(referral: e.referral, reason: e.reason, position: e.position))
                lastStep[EscalationKey.step(referral: e.referral, reason: e.reason)] = now
            }
        }
    }
}

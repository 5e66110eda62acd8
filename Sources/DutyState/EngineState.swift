import DutyCore
import DutyEngine
import DutyPolicy
import DutyStore
import Foundation

/// The engine's view of the store: the one place that turns projection rows into an engine snapshot, for the
/// daemon's cycle and for `duty why`.
public enum EngineState {
    public static func snapshot(store: Store, roster: Roster, policies: PolicySet, now: Date) throws -> Snapshot {
        var open: [OpenReferral] = []
        for row in try store.openReferrals() {
            let rating = row.level.map { level in
                Rating(
                    policy: row.policy ?? "", policyVersion: row.policyVersion ?? "", level: level, rank: row.rank ?? 0,
                    rules: row.rules, due: row.due ?? row.received)
            }
            let pin = row.pinLevel.map { Pin(level: $0, rank: row.pinRank ?? 0, policyRank: row.pinPolicyRank ?? 0) }
            let allocation =
                row.state == "allocated"
                ? row.worker.map {
                    AllocationRecord(
                        worker: $0, manager: row.manager, at: row.allocated ?? row.received,
                        acknowledged: row.acknowledged)
                } : nil
            open.append(
                OpenReferral(
                    referral: row.referral, rating: rating, needsRating: row.needsRating, pin: pin,
                    allocation: allocation,
                    blocked: row.blocked.flatMap(BlockReason.init(rawValue:)), heldOn: row.heldOn,
                    lastReview: row.lastReview, unassignedFrom: row.unassignedFrom))
        }
        var lastStep: [String: Date] = [:]
        let escalations = try store.openEscalations().compactMap { e in
            EscalationReason(rawValue: e.reason).map {
                let step = EscalationKey.step(referral: e.referral, reason: $0)
                lastStep[step] = max(lastStep[step] ?? e.at, e.at)
                return EscalationKey(referral: e.referral, reason: $0, position: e.position)
            }
        }
        var snapshot = Snapshot(
            referrals: open, roster: roster, absences: try store.absences(endingAfter: now).map(\.absence),
            policies: policies, lastWorker: try store.lastWorkers(), escalations: Set(escalations))
        snapshot.lastStep = lastStep
        snapshot.capacityAlerts = Set(try store.capacityAlerts().map(\.team))
        return snapshot
    }
}

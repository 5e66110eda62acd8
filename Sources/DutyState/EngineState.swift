import DutyCore
import DutyEngine
import DutyPolicy
import DutyStore
import Foundation

/// The engine's view of the store: the one place that turns projection rows into an engine snapshot, for the
/// daemon's cycle and for `duty why`.
public enum EngineState {
    public static func snapshot(store: Store, roster: Roster, policies: PolicySet, now: Date) throws -> Snapshot {
        let open = try store.openReferrals().map(openReferral)
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

    /// What `duty why` needs for one open referral: a snapshot of it and the allocated referrals (the workers'
    /// loads), with absences and its person's last worker; and, when it waits, the rest of its team's waiting list
    /// as the last cycle rated it. Its cost follows the allocated work and the team's list, with no rules run but
    /// the referral's own.
    public static func focus(on row: ReferralRow, store: Store, roster: Roster, policies: PolicySet, now: Date) throws
        -> (snapshot: Snapshot, queue: [QueueEntry])
    {
        let open = try store.openReferrals(allocatedAnd: row.id).map(openReferral)
        let snapshot = Snapshot(
            referrals: open, roster: roster, absences: try store.absences(endingAfter: now).map(\.absence),
            policies: policies, lastWorker: try store.lastWorkers(person: row.person))
        guard row.state == "waiting", let team = row.team ?? roster.teamForKind[row.kind] else {
            return (snapshot, [])
        }
        let kinds = roster.teamForKind.filter { $0.value == team }.map(\.key).sorted()
        var risk: [String: Int] = [:]  // by policy, version, pin and rules: a few distinct values
        let queue = try store.storedPlaces(team: team, kinds: kinds).map { p in
            let key = "\(p.policy)\u{0}\(p.policyVersion)\u{0}\(p.rank)\u{0}\(p.pinRank ?? -1)\u{0}\(p.rules)"
            let riskRank =
                risk[key]
                ?? QueueEntry.riskRank(
                    rank: p.rank, rules: JSONValue.parse(p.rules)?.stringArray ?? [], policy: p.policy,
                    version: p.policyVersion, pinRank: p.pinRank, policies: policies)
            risk[key] = riskRank
            return QueueEntry(id: p.id, rank: p.rank, riskRank: riskRank, due: p.due, received: p.received)
        }
        return (snapshot, queue)
    }

    static func openReferral(_ row: ReferralRow) -> OpenReferral {
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
        return OpenReferral(
            referral: row.referral, rating: rating, needsRating: row.needsRating, pin: pin,
            allocation: allocation,
            blocked: row.blocked.flatMap(BlockReason.init(rawValue:)), heldOn: row.heldOn,
            lastReview: row.lastReview, unassignedFrom: row.unassignedFrom)
    }
}

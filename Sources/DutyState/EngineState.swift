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
        var risk = RiskRanks(policies: policies)
        let queue = try store.storedPlaces(team: team, kinds: kinds).map { p in
            QueueEntry(
                id: p.id, rank: p.rank,
                riskRank: risk.of(
                    rank: p.rank, rules: [p.rules], parse: { JSONValue.parse(p.rules)?.stringArray ?? [] },
                    policy: p.policy, version: p.policyVersion, pinRank: p.pinRank), due: p.due, received: p.received)
        }
        return (snapshot, queue)
    }

    /// Waiting referrals as the last cycle rated them, in allocation order at `now` (`Engine.allocationOrder`);
    /// those not yet rated (the next cycle rates them) after them, earliest received first. What `duty waiting`
    /// lists, and the order `duty why` explains. Returns indices into `rows` (a list of 100,000 rows is not copied).
    public static func allocationOrder(_ rows: [ReferralRow], policies: PolicySet, now: Date) -> [Int] {
        var risk = RiskRanks(policies: policies)
        var rated: [QueueEntry] = []
        var at: [Int] = []  // each entry's index in rows
        rated.reserveCapacity(rows.count)
        // By index, field by field: a row is a large struct, and copying 100,000 of them costs more than the sort.
        for i in rows.indices {
            guard let rank = rows[i].rank else { continue }
            let riskRank = risk.of(
                rank: rank, rules: rows[i].rules, parse: { rows[i].rules }, policy: rows[i].policy ?? "",
                version: rows[i].policyVersion ?? "", pinRank: rows[i].pinRank)
            let received = rows[i].received.timeIntervalSince1970
            rated.append(
                QueueEntry(
                    id: rows[i].id, rank: rank, riskRank: riskRank,
                    due: rows[i].due?.timeIntervalSince1970 ?? received, received: received))
            at.append(i)
        }
        let unrated = rows.indices.filter { rows[$0].rank == nil }.sorted {
            (rows[$0].received, rows[$0].id) < (rows[$1].received, rows[$1].id)
        }
        return Engine.allocationOrder(rated, policies: policies, now: now).map { at[$0] } + unrated
    }

    /// The risk ranks of stored ratings (`QueueEntry.riskRank`), worked out once per distinct policy, version,
    /// rank, pin and rules: a list of 100,000 has a few hundred.
    struct RiskRanks {
        struct Key: Hashable {
            var policy: String
            var version: String
            var rank: Int
            var pinRank: Int?
            var rules: [String]
        }

        let policies: PolicySet
        var known: [Key: Int] = [:]

        init(policies: PolicySet) { self.policies = policies }

        /// `rules`: the matched rules as stored (any list that is equal when they are; the stored JSON text will
        /// do), `parse` gives them as rule ids.
        mutating func of(
            rank: Int, rules: [String], parse: () -> [String], policy: String, version: String, pinRank: Int?
        ) -> Int {
            let key = Key(policy: policy, version: version, rank: rank, pinRank: pinRank, rules: rules)
            if let r = known[key] { return r }
            let r = QueueEntry.riskRank(
                rank: rank, rules: parse(), policy: policy, version: version, pinRank: pinRank, policies: policies)
            known[key] = r
            return r
        }
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

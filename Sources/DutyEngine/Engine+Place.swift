import DutyCore
import DutyPolicy
import Foundation

/// Where a waiting referral stands in its team's allocation order, and why: what `duty why` and `duty show`
/// print, from the same `Allocator.order` the cycle uses.
public struct QueuePlace: Sendable, Equatable {
    /// 1-based place among the team's waiting referrals that have a rating, in allocation order.
    public var position: Int
    /// How many of the team's referrals wait with a rating.
    public var of: Int
    public var team: String?
    public var rank: Int
    /// The rank its risk reaches without aging rules (a manager's pin counts as risk).
    public var riskRank: Int
    /// At or above `max_wait.yields_to` on its risk: ahead even of work past `max_wait`.
    public var yielded: Bool
    /// Waiting longer than `max_wait`.
    public var pastMaxWait: Bool
    public var due: Date
    /// Those ahead of it, by the first key that puts them ahead: `yields_to` (top-rank on its risk), `max_wait`
    /// (waiting past the bound), then the order's keys (`rank`, `risk`, `due`, `received`), then `id`.
    public var ahead: [(key: String, count: Int)]

    public static func == (a: QueuePlace, b: QueuePlace) -> Bool {
        a.position == b.position && a.of == b.of && a.team == b.team && a.rank == b.rank && a.riskRank == b.riskRank
            && a.yielded == b.yielded && a.pastMaxWait == b.pastMaxWait && a.due == b.due
            && a.ahead.map(\.key) == b.ahead.map(\.key) && a.ahead.map(\.count) == b.ahead.map(\.count)
    }
}

extension Engine {
    /// Where waiting referral `id` stands in its team's allocation order at `now`, with everyone rated as a cycle
    /// at `now` would rate them. Nil when it is not waiting or has no rating.
    public static func place(of id: String, in snapshot: Snapshot, now: Date) -> QueuePlace? {
        guard let (i, index, ratings, rank) = rated(id, in: snapshot, now: now) else { return nil }
        let policy = snapshot.policies.allocation
        let team = index.team[i]
        let order = Allocator.order(snapshot, ratings: ratings, policy: policy, now: now).filter {
            index.team[$0] == team
        }
        guard let position = order.firstIndex(of: i) else { return nil }
        let bounds = Allocator.Bounds(policy, now: now, zone: snapshot.policies.timeZone)
        let me = Allocator.place(i, snapshot, ratings: ratings, bounds: bounds)
        var ahead: [String: Int] = [:]
        for j in order[..<position] {
            let other = Allocator.place(j, snapshot, ratings: ratings, bounds: bounds)
            ahead[Allocator.firstDifference(other, me, policy: policy).name, default: 0] += 1
        }
        return queuePlace(
            i, position: position + 1, of: order.count, ahead: ahead, me: me, rank: rank, index: index,
            ratings: ratings, snapshot: snapshot)
    }
}

/// Another waiting referral as the allocation order sees it, from the rating the last cycle stored: what `duty why`
/// places a referral among without re-rating the whole list.
public struct QueueEntry: Sendable {
    public var id: String
    public var rank: Int
    /// The rank its risk reaches without aging rules (`QueueEntry.riskRank(...)`).
    public var riskRank: Int
    /// Seconds since 1970.
    public var due: Double
    /// Seconds since 1970.
    public var received: Double

    public init(id: String, rank: Int, riskRank: Int, due: Double, received: Double) {
        self.id = id
        self.rank = rank
        self.riskRank = riskRank
        self.due = due
        self.received = received
    }

    /// The risk rank of a stored rating: its rank when a manager's pin holds it (`pinRank == rank`) or when the
    /// policy that rated it is no longer loaded; else the level the matched rules reach without aging rules.
    public static func riskRank(
        rank: Int, rules: [String], policy: String, version: String, pinRank: Int?, policies: PolicySet
    ) -> Int {
        if pinRank == rank { return rank }
        guard let p = policies.triage.first(where: { $0.id == policy && $0.version == version }) else { return rank }
        let matched = rules.compactMap { id in p.rules.firstIndex { $0.id == id } }
        return p.levels[p.riskLevel(matched: matched)].rank
    }
}

extension Engine {
    /// `queue` in allocation order at `now`: the keys and steps the cycle orders by (`yields_to`, `max_wait`, the
    /// policy's `order`, then id), over the ratings the last cycle stored. What `duty waiting` lists; the cycle
    /// itself orders the same way after re-rating everyone.
    /// Returns indices into `queue`.
    public static func allocationOrder(_ queue: [QueueEntry], policies: PolicySet, now: Date) -> [Int] {
        let policy = policies.allocation
        let bounds = Allocator.Bounds(policy, now: now, zone: policies.timeZone)
        var places = queue.indices.map { i in
            let e = queue[i]
            return Allocator.place(
                rank: e.rank, riskRank: e.riskRank, due: e.due, received: e.received, i: i, bounds: bounds)
        }
        places.sort { Allocator.before($0, $1, policy: policy) { queue[$0].id } }
        return places.map(\.i)
    }

    /// Where waiting referral `id` stands in its team's order: the referral rated at `now` from `snapshot` (which
    /// needs only it and the allocated referrals), the others as `queue` gives them (the last cycle's ratings).
    /// The same keys and steps as `place(of:in:now:)` and the cycle; nil when it is not waiting or unrated.
    public static func place(of id: String, in snapshot: Snapshot, among queue: [QueueEntry], now: Date)
        -> QueuePlace?
    {
        guard let (i, index, ratings, rank) = rated(id, in: snapshot, now: now) else { return nil }
        let policy = snapshot.policies.allocation
        let bounds = Allocator.Bounds(policy, now: now, zone: snapshot.policies.timeZone)
        let me = Allocator.place(i, snapshot, ratings: ratings, bounds: bounds)
        var ahead: [String: Int] = [:]
        var of = 1
        var position = 1
        for entry in queue where entry.id != id {
            of += 1
            let other = Allocator.place(
                rank: entry.rank, riskRank: entry.riskRank, due: entry.due, received: entry.received, i: -1,
                bounds: bounds)
            let step = Allocator.firstDifference(other, me, policy: policy)
            guard step == .id ? entry.id < id : Allocator.goesFirst(other, me, on: step) else { continue }
            position += 1
            ahead[step.name, default: 0] += 1
        }
        return queuePlace(
            i, position: position, of: of, ahead: ahead, me: me, rank: rank, index: index, ratings: ratings,
            snapshot: snapshot)
    }

    /// Referral `id` waiting in `snapshot`, rated as a cycle at `now` would rate it: its index, the cycle's index,
    /// the ratings and its rank; nil when it is not waiting or has no rating.
    private static func rated(_ id: String, in snapshot: Snapshot, now: Date) -> (Int, CycleIndex, Ratings, Int)? {
        guard let i = snapshot.referrals.firstIndex(where: { $0.referral.id == id }),
            snapshot.referrals[i].allocation == nil
        else { return nil }
        var ignored = Plan(decisions: [], reviewsDue: [])
        let index = CycleIndex(snapshot)
        var contexts: [RuleContext?] = []
        let ratings = triage(snapshot, index: index, now: now, into: &ignored, contexts: &contexts)
        guard let rank = ratings.rank[i] else { return nil }
        return (i, index, ratings, rank)
    }

    /// The place of referral `i`, with those ahead of it counted by the step that puts them there.
    private static func queuePlace(
        _ i: Int, position: Int, of: Int, ahead: [String: Int], me: Allocator.Place, rank: Int, index: CycleIndex,
        ratings: Ratings, snapshot: Snapshot
    ) -> QueuePlace {
        let team = index.team[i]
        let keys = ["yields_to", "max_wait"] + snapshot.policies.allocation.order.map(\.rawValue) + ["id"]
        return QueuePlace(
            position: position, of: of,
            team: team >= 0 ? index.teamIDs[team] : snapshot.referrals[i].referral.team, rank: rank,
            riskRank: ratings.riskRank[i], yielded: me.yielded, pastMaxWait: me.pastBound,
            due: Date(timeIntervalSince1970: ratings.due[i]),
            ahead: keys.compactMap { k in ahead[k].map { (k, $0) } })
    }
}

import DutyCore
import DutyPolicy
import Foundation

extension Allocator {
    /// One waiting referral's place in the allocation order: the values of the order's keys.
    struct Place {
        /// At or above `max_wait.yields_to` on its risk: ahead even of work past the bound.
        var yielded: Bool
        /// Waiting longer than the policy's `max_wait`.
        var pastBound: Bool
        var rank: Int
        var riskRank: Int
        var due: Double
        var received: Double
        var i: Int
    }

    /// What the order compares against at one moment: `max_wait`'s bound (received before it is past the bound;
    /// the same local time that long ago, on the calendar) and `yields_to`'s rank. Worked out once per order.
    struct Bounds {
        var bound: Double
        var yieldsTo: Int

        init(_ policy: AllocationPolicy, now: Date, zone: TimeZone) {
            bound = policy.maxWait.map { $0.before(now, in: zone).timeIntervalSince1970 } ?? -.infinity
            yieldsTo = policy.maxWait == nil ? Int.max : policy.maxWaitYieldsTo ?? .max
        }
    }

    /// Referral `i`'s place (it must have a rating).
    static func place(_ i: Int, _ snapshot: Snapshot, ratings: Ratings, bounds: Bounds) -> Place {
        place(
            rank: ratings.rank[i] ?? 0, riskRank: ratings.riskRank[i], due: ratings.due[i],
            received: snapshot.referrals[i].referral.received.timeIntervalSince1970, i: i, bounds: bounds)
    }

    /// What decides which of two referrals goes first.
    enum Step: Equatable {
        case yieldsTo, maxWait, id
        case key(AllocationPolicy.OrderKey)

        /// As `duty why` names it: `yields_to`, `max_wait`, an `order` key, or `id`.
        var name: String {
            switch self {
            case .yieldsTo: "yields_to"
            case .maxWait: "max_wait"
            case .id: "id"
            case .key(let k): k.rawValue
            }
        }
    }

    /// The first step of the order on which `a` and `b` differ: the one that decides which goes first.
    static func firstDifference(_ a: Place, _ b: Place, policy: AllocationPolicy) -> Step {
        if a.yielded != b.yielded { return .yieldsTo }
        if !a.yielded && (a.pastBound != b.pastBound || (a.pastBound && a.received != b.received)) {
            return .maxWait
        }
        for key in policy.order {
            switch key {
            case .rank: if a.rank != b.rank { return .key(key) }
            case .risk: if (a.riskRank >= a.rank) != (b.riskRank >= b.rank) { return .key(key) }
            case .due: if a.due != b.due { return .key(key) }
            case .received: if a.received != b.received { return .key(key) }
            }
        }
        return .id
    }

    /// Whether `a` goes before `b`: first, when `max_wait` has `yields_to`, those at or above that rank on their
    /// risk; then those waiting longer than `max_wait`, earliest received first; then the policy's `order` (ranks
    /// highest first, times earliest first); ties by referral id.
    static func before(_ a: Place, _ b: Place, _ refs: [OpenReferral], policy: AllocationPolicy) -> Bool {
        before(a, b, policy: policy) { refs[$0].referral.id }
    }

    /// `before`, with the referral ids of the places' `i` from `id`.
    static func before(_ a: Place, _ b: Place, policy: AllocationPolicy, id: (Int) -> String) -> Bool {
        let step = firstDifference(a, b, policy: policy)
        return step == .id ? id(a.i) < id(b.i) : goesFirst(a, b, on: step)
    }

    /// Whether `a` goes before `b` when `step` (not `.id`) is the first on which they differ.
    static func goesFirst(_ a: Place, _ b: Place, on step: Step) -> Bool {
        switch step {
        case .yieldsTo: return a.yielded
        case .maxWait: return a.pastBound != b.pastBound ? a.pastBound : a.received < b.received
        case .key(.rank): return a.rank > b.rank
        case .key(.risk): return a.riskRank >= a.rank
        case .key(.due): return a.due < b.due
        case .key(.received): return a.received < b.received
        case .id: return false
        }
    }

    /// A place from the values of its keys (`i` is the caller's own index).
    static func place(rank: Int, riskRank: Int, due: Double, received: Double, i: Int, bounds: Bounds) -> Place {
        Place(
            yielded: riskRank >= bounds.yieldsTo, pastBound: received < bounds.bound, rank: rank, riskRank: riskRank,
            due: due, received: received, i: i)
    }

    /// The waiting referrals that have a rating, as indices into `snapshot.referrals`, in allocation order
    /// (`before`).
    static func order(_ snapshot: Snapshot, ratings: Ratings, policy: AllocationPolicy, now: Date) -> [Int] {
        let bounds = Bounds(policy, now: now, zone: snapshot.policies.timeZone)
        let refs = snapshot.referrals
        var keys: [Place] = []
        for i in refs.indices where refs[i].allocation == nil && ratings.rank[i] != nil {
            keys.append(place(i, snapshot, ratings: ratings, bounds: bounds))
        }
        keys.sort { before($0, $1, refs, policy: policy) }
        return keys.map(\.i)
    }
}

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

    /// The waiting referrals that have a rating, as indices into `snapshot.referrals`: first, when `max_wait`
    /// has `yields_to`, those at or above that rank on their risk, in the policy's `order`; then those waiting
    /// longer than `max_wait` at `now`, earliest received first; then the rest in the policy's `order` (ranks
    /// highest first, times earliest first); ties by referral id.
    static func order(_ snapshot: Snapshot, ratings: Ratings, policy: AllocationPolicy, now: Date) -> [Int] {
        var keys: [Place] = []
        let refs = snapshot.referrals
        let bound = policy.maxWait.map { now.timeIntervalSince1970 - $0.timeInterval } ?? -.infinity
        let yieldsTo = policy.maxWait == nil ? Int.max : policy.maxWaitYieldsTo ?? .max
        for i in refs.indices where refs[i].allocation == nil {
            guard let rank = ratings.rank[i] else { continue }
            keys.append(
                Place(
                    yielded: ratings.riskRank[i] >= yieldsTo,
                    pastBound: refs[i].referral.received.timeIntervalSince1970 < bound, rank: rank,
                    riskRank: ratings.riskRank[i], due: ratings.due[i],
                    received: refs[i].referral.received.timeIntervalSince1970, i: i))
        }
        let order = policy.order
        keys.sort { a, b in
            if a.yielded != b.yielded { return a.yielded }
            if a.pastBound != b.pastBound && !a.yielded { return a.pastBound }
            if a.pastBound && !a.yielded && a.received != b.received { return a.received < b.received }
            for key in order {
                switch key {
                case .rank: if a.rank != b.rank { return a.rank > b.rank }
                case .risk:
                    let (ra, rb) = (a.riskRank >= a.rank, b.riskRank >= b.rank)
                    if ra != rb { return ra }
                case .due: if a.due != b.due { return a.due < b.due }
                case .received: if a.received != b.received { return a.received < b.received }
                }
            }
            return refs[a.i].referral.id < refs[b.i].referral.id
        }
        return keys.map(\.i)
    }
}

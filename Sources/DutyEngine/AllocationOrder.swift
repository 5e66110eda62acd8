import DutyCore
import DutyPolicy
import Foundation

extension Allocator {
    /// One waiting referral's place in the allocation order: the values of the order's keys.
    struct OrderKey {
        var rank: Int
        var riskRank: Int
        var due: Double
        var received: Double
        var i: Int
    }

    /// The waiting referrals that have a rating, as indices into `snapshot.referrals`, in the allocation policy's
    /// `order` (ranks highest first, times earliest first), then by referral id.
    static func order(_ snapshot: Snapshot, ratings: Ratings, policy: AllocationPolicy) -> [Int] {
        var keys: [OrderKey] = []
        let refs = snapshot.referrals
        for i in refs.indices where refs[i].allocation == nil {
            guard let rank = ratings.rank[i] else { continue }
            keys.append(
                OrderKey(
                    rank: rank, riskRank: ratings.riskRank[i], due: ratings.due[i],
                    received: refs[i].referral.received.timeIntervalSince1970, i: i))
        }
        let order = policy.order
        keys.sort { a, b in
            for key in order {
                switch key {
                case .rank: if a.rank != b.rank { return a.rank > b.rank }
                case .riskRank: if a.riskRank != b.riskRank { return a.riskRank > b.riskRank }
                case .due: if a.due != b.due { return a.due < b.due }
                case .received: if a.received != b.received { return a.received < b.received }
                }
            }
            return refs[a.i].referral.id < refs[b.i].referral.id
        }
        return keys.map(\.i)
    }
}

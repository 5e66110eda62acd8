import DutyCore
import DutyPolicy
import Foundation

/// What the allocator reports for a referral still blocked at the end of its pass: the reason and the counts of
/// the check that excluded each worker (`allocation.blocked`).
extension Allocator {
    /// Why referral `i` is blocked, from the loads at the end of the pass (so that a second pass over the
    /// resulting state finds the same reason and logs nothing). Cheap when nobody present has room.
    func blockReason(_ i: Int) -> BlockReason {
        let t = refTeam[i]
        guard t >= 0, !teams[t].workers.isEmpty else { return .noEligibleWorker }
        let state = teams[t]
        let rank = rank(i)
        let p = refNeed[i]
        let leaving = rank < state.leavingCount.count ? state.leavingCount[rank] : 0
        let staying = state.workers.count - state.absentCount - leaving
        guard staying > 0 else { return .allAbsent }
        if p > state.maxFree + Self.epsilon { return .noCapacity }
        if refPoints[i] <= Self.epsilon {
            // A referral of no points fits anyone: the reason comes from skills and rules alone.
            var ctx = context(i)
            return state.workers.contains { exclusion(&ctx, worker: $0, rank: rank, points: p) == .capacity }
                ? .noCapacity : .noEligibleWorker
        }
        // Workers without room who stay fail on capacity; those with room are checked one by one.
        var stayingRoomy = 0
        var roomyFull = false
        var ctx = context(i)
        for w in state.roomy where !isLeaving(w, rank: rank) {
            stayingRoomy += 1
            if exclusion(&ctx, worker: w, rank: rank, points: p) == .capacity { roomyFull = true }
        }
        return staying - stayingRoomy > 0 || roomyFull ? .noCapacity : .noEligibleWorker
    }

    /// Counts of the check that excluded each worker, in a fixed order: absent, look-ahead, capacity, skills,
    /// the rules in file order, then `reserved` (eligible, but held for another referral).
    func exclusions(_ i: Int) -> ([(String, Int)], Int) {
        let t = refTeam[i]
        guard t >= 0 else { return ([], 0) }
        let state = teams[t]
        let rank = rank(i)
        // absent, look-ahead, capacity, skills, one per rule, then reserved.
        var counts = Array(repeating: 0, count: 6 + eligible.count)
        if refNeed[i] > state.maxFree + Self.epsilon && state.holds == 0 {
            counts[0] = state.absentCount
            counts[1] = rank < state.leavingCount.count ? state.leavingCount[rank] : 0
            counts[2] = state.workers.count - counts[0] - counts[1]
        } else {
            var ctx = context(i)
            for w in state.workers {
                switch exclusion(&ctx, worker: w, rank: rank, points: refNeed[i]) {
                case nil: if heldBy[w] >= 0 && heldBy[w] != i { counts[4 + eligible.count] += 1 }
                case .reserved?: counts[4 + eligible.count] += 1
                case .absent?: counts[0] += 1
                case .unassigned?: counts[5 + eligible.count] += 1
                case .leavingSoon?: counts[1] += 1
                case .capacity?: counts[2] += 1
                case .skills?: counts[3] += 1
                case .rule(let id)?: counts[4 + (ruleIndex[id] ?? 0)] += 1
                }
            }
        }
        var out: [(String, Int)] = []
        for k in counts.indices where counts[k] > 0 { out.append((exclusionNames[k], counts[k])) }
        return (out, state.workers.count)
    }
}

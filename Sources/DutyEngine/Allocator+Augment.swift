import DutyCore
import DutyPolicy
import Foundation

/// The allocator's augmenting paths: when nobody is eligible for a referral, a chain of moves of referrals assigned
/// earlier in the same pass may free the room it needs (see `Allocator`).
extension Allocator {
    /// What checking a referral against its team's workers depends on besides their loads: the exclusion checks
    /// read only the rank (look-ahead), the points, the skills and the rule class. Referrals with one key meet the
    /// team alike: an augmenting search for one finds what it finds for the other, and once the pass is over they
    /// are blocked for the same reason with the same counts.
    struct SearchKey: Hashable {
        var ruleClass: Int
        var rank: Int
        var points: Double
        var skills: [String]
    }

    /// A step of an augmenting path: `incoming` is to be placed on `worker`; `parent` indexes the previous step.
    fileprivate struct PathNode {
        var worker: Int
        var incoming: Int
        var parent: Int
    }

    /// Referral `i`'s key (`context` is its rule context); nil without a rule class, since the rules may then read
    /// anything about the referral.
    func searchKey(_ i: Int, _ context: RuleContext) -> SearchKey? {
        // A referral taken back from a worker excludes that worker: its searches are its own.
        guard context.ruleClass >= 0, unassignedWorker.isEmpty || unassignedWorker[context.referral.id] == nil else {
            return nil
        }
        return SearchKey(
            ruleClass: context.ruleClass, rank: rank(i), points: refNeed[i], skills: context.referral.skills)
    }

    /// Searches for a chain of moves of referrals assigned in this pass that frees room for referral `h`.
    func augment(_ h: Int, team t: Int) -> Bool {
        guard teams[t].movableCount > 0, augmentBudget > 0, teams[t].maxFree + Self.epsilon >= teams[t].minMovablePoints
        else { return false }
        let hRank = rank(h)
        var hctx = context(h)
        let key = searchKey(h, hctx)
        if let key, sharesByKey, teams[t].fruitless.contains(key) { return false }
        searches += 1
        let found = search(h, context: &hctx, rank: hRank, team: t)
        if !found, let key { teams[t].fruitless.append(key) }
        return found
    }

    private func search(_ h: Int, context hctx: inout RuleContext, rank hRank: Int, team t: Int) -> Bool {
        let members = teams[t].workers
        var nodes: [PathNode] = []
        var visited = Set<Int>()
        // A worker whose room is held for another referral takes no part.
        for w in members where heldBy[w] < 0 {
            augmentBudget -= 1
            if exclusion(&hctx, worker: w, rank: hRank, points: refPoints[h], ignoreCapacity: true) == nil {
                nodes.append(PathNode(worker: w, incoming: h, parent: -1))
                visited.insert(w)
            }
        }
        var head = 0
        while head < nodes.count && augmentBudget > 0 {
            let node = nodes[head]
            head += 1
            let need = refNeed[node.incoming]
            // A move never lowers a worker's load (the referral moved out is no bigger than the one moved in), so
            // loads only grow during a pass and a referral blocked earlier stays blocked: see the invariant above.
            let movable = teams[t].movable[node.worker] ?? []
            let nodeFree = free(node.worker)
            for r in movable
            where refPoints[r] <= refPoints[node.incoming] + Self.epsilon
                && nodeFree + refPoints[r] + Self.epsilon >= need
            {
                let rRank = rank(r)
                var rctx = context(r)
                // Workers already on this path cannot take part again; any other worker may end it.
                var onPath = Set<Int>()
                var k = head - 1
                while k >= 0 {
                    onPath.insert(nodes[k].worker)
                    k = nodes[k].parent
                }
                for w2 in members where heldBy[w2] < 0 && !onPath.contains(w2) {
                    let roomy = free(w2) + Self.epsilon >= refNeed[r]
                    guard roomy || !visited.contains(w2) else { continue }
                    augmentBudget -= 1
                    guard exclusion(&rctx, worker: w2, rank: rRank, points: refPoints[r], ignoreCapacity: true) == nil
                    else { continue }
                    if roomy {
                        apply(path: nodes, last: head - 1, moving: r, to: w2, team: t, for: h)
                        return true
                    }
                    visited.insert(w2)
                    nodes.append(PathNode(worker: w2, incoming: r, parent: head - 1))
                }
            }
        }
        return false
    }

    /// Carries out an augmenting path: `moving` goes to `final`, each node's incoming referral goes to its
    /// worker, and the root's incoming referral `h` is assigned.
    private func apply(path nodes: [PathNode], last: Int, moving: Int, to final: Int, team t: Int, for h: Int) {
        var chain: [PathNode] = []
        var k = last
        while k >= 0 {
            chain.append(nodes[k])
            k = nodes[k].parent
        }
        let hID = snapshot.referrals[h].referral.id
        var moves: [(Int, Int)] = [(moving, final)]
        moves += chain.filter { $0.incoming != h }.map { ($0.incoming, $0.worker) }
        for (r, w) in moves {
            unplace(r, team: t)
            place(r, on: w, team: t)
        }
        assign(h, to: chain.last!.worker, team: t, moved: nil)
        for (r, w) in moves {
            var decision = assignments[r]!
            decision.worker = workerIDs[w]
            decision.moved = "moved to make room for \(hID)"
            views[w].load -= refPoints[r]
            ruleCache.loadChanged(worker: w)
            decision.candidates = candidates(r, rank: rank(r))
            decision.parts = score(context(r), worker: w, lastWorker: lastWorker(r))
            views[w].load += refPoints[r]
            ruleCache.loadChanged(worker: w)
            assignments[r] = decision
        }
    }
}

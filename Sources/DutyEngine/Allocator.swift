import DutyCore
import DutyPolicy
import Foundation

/// One cycle's allocation pass over the waiting list.
///
/// Referrals are taken highest rank first, then earliest due, earliest received, id. For each, every worker of
/// the referral's team is checked in this order, the first failure excluding them: absent now, an absence within
/// the level's `absence_lookahead`, capacity (`load + points <= capacity`), required skills, then each `eligible`
/// rule in file order. The eligible worker with the highest `prefer` score wins, ties to the lower worker id;
/// loads change as the pass assigns, so later referrals see earlier assignments.
///
/// When nobody is eligible, an augmenting path is tried: a referral assigned earlier in this cycle moves to
/// another eligible worker with room, freeing the capacity the blocked one needs (possibly through a chain of
/// such moves, each moving out a referral no bigger in points than the one moving in, so no load ever falls).
/// Nobody assigned is ever unassigned. The search has a per-cycle budget of eligibility checks. With equal points for every referral this makes the number
/// allocated at each rank, highest first, the largest possible; with unequal points it is a good, not a proven,
/// answer (that problem is a multiple knapsack).
///
/// **No priority inversion.** Invariant: when a referral L is assigned to worker w, w is not eligible (every
/// check above, at w's load at that moment) for any referral of L's team that ranks above L and is still waiting.
/// Processing in rank order gives this whenever eligibility can only be lost as load grows; `guardInversion`
/// makes it hold for any rules, by giving w the higher-rank referral first.
struct Allocator {
    let snapshot: Snapshot
    let ratings: [Rating?]
    let presence: Presence
    let now: Date
    let policy: AllocationPolicy
    let eligible: [EligibilityRule]

    // Workers, indexed in roster id order; `views[w].load` is the live load.
    private var workerIDs: [String] = []
    private var workerIndex: [String: Int] = [:]
    private var views: [WorkerView] = []
    private var skillSets: [Set<String>] = []
    private var absentNow: [Bool] = []
    private var teams: [String: TeamState] = [:]

    // Per referral (index into snapshot.referrals).
    private var contexts: [Int: RuleContext] = [:]
    private var assignedTo: [Int: Int] = [:]
    private var assignments: [Int: AssignmentDecision] = [:]
    private var assignmentOrder: [Int] = []
    private var blockedOrder: [Int] = []
    /// Referral index -> block reason at the end of the pass.
    private(set) var blockReasons: [Int: BlockReason] = [:]
    private var augmentBudget = 200_000

    private(set) var decisions: [Decision] = []
    /// Referral index -> worker id, for everything assigned in this pass.
    private(set) var assignedThisCycle: [Int: String] = [:]
    private(set) var escalationKeys: Set<EscalationKey> = []
    private(set) var escalationDecisions: [EscalationDecision] = []

    struct TeamState {
        var workers: [Int]
        var accountable: Accountable
        var absentCount: Int
        /// By rank: present now but leaving within that rank's look-ahead.
        var leavingCount: [Int: Int]
        /// The most free capacity of any worker present now.
        var maxFree: Double
        /// Referral indices assigned in this pass, by worker.
        var movable: [Int: [Int]] = [:]
        var movableCount = 0
        var minMovablePoints = Double.infinity
        /// Referral indices blocked in this pass, in allocation order.
        var blocked: [Int] = []
    }

    private static let epsilon = 1e-9

    /// A step of an augmenting path: `incoming` is to be placed on `worker`; `parent` indexes the previous step.
    private struct PathNode {
        var worker: Int
        var incoming: Int
        var parent: Int
    }

    init(snapshot: Snapshot, ratings: [Rating?], presence: Presence, now: Date) {
        self.snapshot = snapshot
        self.ratings = ratings
        self.presence = presence
        self.now = now
        policy = snapshot.policies.allocation
        eligible = policy.eligible
        let workers = snapshot.roster.workers.sorted { $0.id < $1.id }
        for (i, w) in workers.enumerated() {
            workerIDs.append(w.id)
            workerIndex[w.id] = i
            views.append(WorkerView(worker: w, load: 0))
            skillSets.append(Set(w.skills))
            absentNow.append(presence.isAbsent(w.id))
        }
        for open in snapshot.referrals {
            guard let a = open.allocation, let w = workerIndex[a.worker] else { continue }
            views[w].load += policy.points(kind: open.referral.kind, complexity: open.referral.complexity)
        }
        // Candidates: everyone of the team except managers without a caseload.
        var byTeam: [String: [Int]] = [:]
        for (i, w) in workers.enumerated() where !(w.isManager && w.capacity <= 0) {
            byTeam[w.team, default: []].append(i)
        }
        let ranks = Set(snapshot.policies.triage.flatMap { $0.levels.map(\.rank) })
        for team in snapshot.roster.teams {
            let members = byTeam[team.id] ?? []
            var leaving: [Int: Int] = [:]
            for rank in ranks {
                guard let within = policy.absenceLookahead[rank] else { continue }
                leaving[rank] =
                    members.filter { !absentNow[$0] && presence.isLeaving(workerIDs[$0], within: within) }.count
            }
            var state = TeamState(
                workers: members, accountable: presence.accountable(team: team.id, roster: snapshot.roster),
                absentCount: members.filter { absentNow[$0] }.count, leavingCount: leaving, maxFree: 0)
            state.maxFree = maxFree(members)
            teams[team.id] = state
        }
    }

    private func free(_ w: Int) -> Double { views[w].capacity - views[w].load }

    private func maxFree(_ members: [Int]) -> Double {
        var m = -Double.infinity
        for w in members where !absentNow[w] { m = max(m, free(w)) }
        return m
    }

    private func points(_ i: Int) -> Double {
        let r = snapshot.referrals[i].referral
        return policy.points(kind: r.kind, complexity: r.complexity)
    }

    private func team(of i: Int) -> String? {
        let r = snapshot.referrals[i].referral
        return r.team ?? snapshot.roster.teamForKind[r.kind]
    }

    private mutating func context(_ i: Int) -> RuleContext {
        if let c = contexts[i] { return c }
        var r = snapshot.referrals[i].referral
        if r.team == nil { r.team = snapshot.roster.teamForKind[r.kind] }
        let c = RuleContext(referral: r, now: now)
        contexts[i] = c
        return c
    }

    /// The first check worker `w` fails for referral `i`, or nil when eligible.
    private func exclusion(
        _ context: inout RuleContext, worker w: Int, rank: Int, points: Double, ignoreCapacity: Bool = false
    ) -> Exclusion? {
        if absentNow[w] { return .absent }
        if let within = policy.absenceLookahead[rank], presence.isLeaving(workerIDs[w], within: within) {
            return .leavingSoon
        }
        if !ignoreCapacity && views[w].load + points > views[w].capacity + Self.epsilon { return .capacity }
        for skill in context.referral.skills where !skillSets[w].contains(skill) { return .skills }
        context.worker = views[w]
        for rule in eligible where !rule.condition.evaluate(context) { return .rule(rule.id) }
        return nil
    }

    private func score(_ context: RuleContext, worker w: Int) -> ScoreParts {
        let p = policy.prefer
        let continuity = snapshot.lastWorker[context.referral.person] == workerIDs[w] ? p.continuity : 0
        let cap = views[w].capacity
        let leastLoaded = cap > 0 ? p.leastLoaded * max(0, 1 - views[w].load / cap) : 0
        var special = false
        for flag in context.referral.flags where skillSets[w].contains(flag) {
            special = true
            break
        }
        return ScoreParts(continuity: continuity, leastLoaded: leastLoaded, specialism: special ? p.specialism : 0)
    }

    /// Sets a worker's load (for explanations against a hypothetical load).
    mutating func setLoad(worker id: String, to load: Double) {
        guard let w = workerIndex[id] else { return }
        views[w].load = load
        if let team = snapshot.roster.workerByID[id]?.team, teams[team] != nil {
            teams[team]!.maxFree = maxFree(teams[team]!.workers)
        }
    }

    /// Every worker of the team with score parts or exclusion, for the explanation.
    mutating func candidates(_ i: Int, rank: Int) -> [Candidate] {
        guard let team = team(of: i), let state = teams[team] else { return [] }
        var ctx = context(i)
        let p = points(i)
        var out: [Candidate] = []
        out.reserveCapacity(state.workers.count)
        for w in state.workers {
            if let e = exclusion(&ctx, worker: w, rank: rank, points: p) {
                out.append(Candidate(worker: workerIDs[w], parts: nil, excludedBy: e))
            } else {
                out.append(Candidate(worker: workerIDs[w], parts: score(ctx, worker: w), excludedBy: nil))
            }
        }
        return out
    }

    mutating func run() {
        var order: [Int] = []
        for i in snapshot.referrals.indices where snapshot.referrals[i].isWaiting && ratings[i] != nil {
            order.append(i)
        }
        let refs = snapshot.referrals
        let rs = ratings
        order.sort { a, b in
            let ra = rs[a]!
            let rb = rs[b]!
            if ra.rank != rb.rank { return ra.rank > rb.rank }
            if ra.due != rb.due { return ra.due < rb.due }
            let ea = refs[a].referral
            let eb = refs[b].referral
            if ea.received != eb.received { return ea.received < eb.received }
            return ea.id < eb.id
        }
        for i in order { allocate(i) }
        for i in assignmentOrder { decisions.append(.assigned(assignments[i]!)) }
        for i in blockedOrder {
            let (reason, excluded, count) = explainBlock(i)
            blockReasons[i] = reason
            guard snapshot.referrals[i].blocked != reason else { continue }
            decisions.append(
                .blocked(
                    referral: snapshot.referrals[i].referral.id, reason: reason, excluded: excluded, candidates: count))
        }
    }

    /// Counts of exclusions over a team, in a fixed order: absent, look-ahead, capacity, skills, rules.
    private struct Counts {
        var absent = 0
        var leaving = 0
        var capacity = 0
        var skills = 0
        var rules: [Int]

        mutating func add(_ e: Exclusion, ruleIndex: [String: Int]) {
            switch e {
            case .absent: absent += 1
            case .leavingSoon: leaving += 1
            case .capacity: capacity += 1
            case .skills: skills += 1
            case .rule(let id): rules[ruleIndex[id]!] += 1
            }
        }
    }

    private mutating func allocate(_ i: Int) {
        let rank = ratings[i]!.rank
        guard let teamID = team(of: i), teams[teamID] != nil else {
            markBlocked(i, team: nil)
            return
        }
        let p = points(i)
        while true {
            if p > teams[teamID]!.maxFree + Self.epsilon {
                // Nobody present has room: no rule needs evaluating.
                if !augment(i, team: teamID) { markBlocked(i, team: teamID) }
                return
            }
            var ctx = context(i)
            var best = -1
            var bestScore = -Double.infinity
            for w in teams[teamID]!.workers where exclusion(&ctx, worker: w, rank: rank, points: p) == nil {
                let s = score(ctx, worker: w).total
                if s > bestScore {
                    best = w
                    bestScore = s
                }
            }
            if best >= 0 {
                if let higher = guardInversion(worker: best, rank: rank, team: teamID) {
                    // A higher-rank blocked referral this worker can now take goes first; then try again.
                    teams[teamID]!.blocked.removeAll { $0 == higher }
                    blockedOrder.removeAll { $0 == higher }
                    allocate(higher)
                    continue
                }
                assign(i, to: best, team: teamID, rank: rank, moved: nil)
                return
            }
            if !augment(i, team: teamID) { markBlocked(i, team: teamID) }
            return
        }
    }

    private var ruleIndex: [String: Int] {
        var out: [String: Int] = [:]
        for (k, r) in eligible.enumerated() { out[r.id] = k }
        return out
    }

    private mutating func markBlocked(_ i: Int, team: String?) {
        blockedOrder.append(i)
        if let team { teams[team]!.blocked.append(i) }
    }

    /// Why referral `i` is blocked, from the loads at the end of the pass (so that a second pass over the
    /// resulting state finds the same reason and logs nothing).
    private mutating func explainBlock(_ i: Int) -> (BlockReason, [(String, Int)], Int) {
        let rank = ratings[i]!.rank
        guard let teamID = team(of: i), let state = teams[teamID], !state.workers.isEmpty else {
            return (.noEligibleWorker, [], 0)
        }
        let p = points(i)
        var counts = Counts(rules: Array(repeating: 0, count: eligible.count))
        if p > state.maxFree + Self.epsilon {
            counts.absent = state.absentCount
            counts.leaving = state.leavingCount[rank] ?? 0
            counts.capacity = state.workers.count - counts.absent - counts.leaving
        } else {
            var ctx = context(i)
            let index = ruleIndex
            for w in state.workers {
                if let e = exclusion(&ctx, worker: w, rank: rank, points: p) { counts.add(e, ruleIndex: index) }
            }
        }
        var excluded: [(String, Int)] = []
        if counts.absent > 0 { excluded.append(("absent", counts.absent)) }
        if counts.leaving > 0 { excluded.append(("absence_lookahead", counts.leaving)) }
        if counts.capacity > 0 { excluded.append(("capacity", counts.capacity)) }
        if counts.skills > 0 { excluded.append(("skills", counts.skills)) }
        for (k, rule) in eligible.enumerated() where counts.rules[k] > 0 { excluded.append((rule.id, counts.rules[k])) }
        let present = state.workers.count - counts.absent - counts.leaving
        let reason: BlockReason = present == 0 ? .allAbsent : counts.capacity > 0 ? .noCapacity : .noEligibleWorker
        return (reason, excluded, state.workers.count)
    }

    /// A referral blocked earlier in this pass, ranking above `rank`, that `worker` is now eligible for.
    private mutating func guardInversion(worker w: Int, rank: Int, team: String) -> Int? {
        for h in teams[team]!.blocked {
            let hr = ratings[h]!.rank
            guard hr > rank else { continue }
            let hp = points(h)
            if views[w].load + hp > views[w].capacity + Self.epsilon { continue }
            var ctx = context(h)
            if exclusion(&ctx, worker: w, rank: hr, points: hp) == nil { return h }
        }
        return nil
    }

    private mutating func assign(_ i: Int, to w: Int, team: String, rank: Int, moved: String?) {
        let parts = score(context(i), worker: w)
        let accountable = teams[team]!.accountable
        let decision = AssignmentDecision(
            referral: snapshot.referrals[i].referral.id, worker: workerIDs[w], level: ratings[i]!.level, rank: rank,
            points: points(i), accountable: accountable, parts: parts, candidates: candidates(i, rank: rank),
            moved: moved)
        if assignments[i] == nil { assignmentOrder.append(i) }
        assignments[i] = decision
        place(i, on: w, team: team)
        if accountable.manager == nil {
            let key = EscalationKey(
                referral: decision.referral, reason: .noManagerAvailable, position: accountable.position)
            if !snapshot.escalations.contains(key) && !escalationKeys.contains(key) {
                escalationKeys.insert(key)
                escalationDecisions.append(
                    EscalationDecision(
                        referral: decision.referral, reason: .noManagerAvailable, to: nil,
                        position: accountable.position,
                        since: now))
            }
        }
    }

    /// Puts referral `i` on worker `w`: load, movable lists, team free capacity.
    private mutating func place(_ i: Int, on w: Int, team: String) {
        let p = points(i)
        views[w].load += p
        assignedTo[i] = w
        assignedThisCycle[i] = workerIDs[w]
        teams[team]!.movable[w, default: []].append(i)
        teams[team]!.movableCount += 1
        teams[team]!.minMovablePoints = min(teams[team]!.minMovablePoints, p)
        teams[team]!.maxFree = maxFree(teams[team]!.workers)
    }

    private mutating func unplace(_ i: Int, team: String) {
        guard let w = assignedTo[i] else { return }
        views[w].load -= points(i)
        assignedTo[i] = nil
        teams[team]!.movable[w]?.removeAll { $0 == i }
        teams[team]!.movableCount -= 1
        teams[team]!.maxFree = maxFree(teams[team]!.workers)
    }

    /// Searches for a chain of moves of referrals assigned in this pass that frees room for referral `h`.
    private mutating func augment(_ h: Int, team: String) -> Bool {
        guard let state = teams[team], state.movableCount > 0, augmentBudget > 0,
            state.maxFree + Self.epsilon >= state.minMovablePoints
        else { return false }
        var nodes: [PathNode] = []
        var visited = Set<Int>()
        let hRank = ratings[h]!.rank
        let hPoints = points(h)
        var hctx = context(h)
        for w in state.workers {
            augmentBudget -= 1
            if exclusion(&hctx, worker: w, rank: hRank, points: hPoints, ignoreCapacity: true) == nil {
                nodes.append(PathNode(worker: w, incoming: h, parent: -1))
                visited.insert(w)
            }
        }
        var head = 0
        while head < nodes.count && augmentBudget > 0 {
            let node = nodes[head]
            head += 1
            let need = points(node.incoming)
            // A move never lowers a worker's load (the referral moved out is no bigger than the one moved in), so
            // loads only grow during a pass and a referral blocked earlier stays blocked: see the invariant above.
            for r in teams[team]!.movable[node.worker] ?? []
            where points(r) <= need + Self.epsilon && free(node.worker) + points(r) + Self.epsilon >= need {
                let rRank = ratings[r]!.rank
                let rPoints = points(r)
                var rctx = context(r)
                // Workers already on this path cannot take part again; any other worker may end it.
                var onPath = Set<Int>()
                var k = head - 1
                while k >= 0 {
                    onPath.insert(nodes[k].worker)
                    k = nodes[k].parent
                }
                for w2 in state.workers where !onPath.contains(w2) {
                    let roomy = free(w2) + Self.epsilon >= rPoints
                    guard roomy || !visited.contains(w2) else { continue }
                    augmentBudget -= 1
                    guard exclusion(&rctx, worker: w2, rank: rRank, points: rPoints, ignoreCapacity: true) == nil else {
                        continue
                    }
                    if roomy {
                        apply(path: nodes, last: head - 1, moving: r, to: w2, team: team, for: h)
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
    private mutating func apply(path nodes: [PathNode], last: Int, moving: Int, to final: Int, team: String, for h: Int)
    {
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
            unplace(r, team: team)
            place(r, on: w, team: team)
        }
        let root = chain.last!
        assign(h, to: root.worker, team: team, rank: ratings[h]!.rank, moved: nil)
        for (r, w) in moves {
            var decision = assignments[r]!
            decision.worker = workerIDs[w]
            decision.moved = "moved to make room for \(hID)"
            views[w].load -= points(r)
            decision.candidates = candidates(r, rank: ratings[r]!.rank)
            decision.parts = score(context(r), worker: w)
            views[w].load += points(r)
            assignments[r] = decision
        }
    }
}

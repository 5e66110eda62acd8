import DutyCore
import DutyPolicy
import Foundation

/// One cycle's allocation pass over the waiting list.
///
/// Referrals are taken in the allocation policy's `order` (by default rank, then risk rank, earliest due,
/// earliest received; always id last), so that within a rank a referral there on its risk goes ahead of one
/// there only by aging. For each, every worker of
/// the referral's team (managers without a caseload aside) is checked in this order, the first failure excluding
/// them: absent now, an absence within the level's `absence_lookahead`, capacity (`load + points <= capacity`),
/// required skills, then each `eligible` rule in file order. The eligible worker with the highest `prefer` score
/// wins, ties to the lower worker id; loads change as the pass assigns, so later referrals see earlier
/// assignments.
///
/// When nobody is eligible, an augmenting path is tried: a referral assigned earlier in this cycle moves to
/// another eligible worker with room, freeing the capacity the blocked one needs (possibly through a chain of
/// such moves, each moving out a referral no bigger in points than the one moving in, so no load ever falls).
/// Nobody assigned is ever unassigned. The search has a per-cycle budget of eligibility checks. With equal
/// points for every referral this makes the number allocated at each rank, highest first, the largest possible
/// (tested against exhaustive search); with unequal points it is a good, not a proven, answer (that problem is
/// a multiple knapsack).
///
/// **Reservations** (Slurm's backfill): when one of a team's first `reservations` blocked referrals in the order
/// is blocked only for lack of room (someone present passes every other check), the eligible worker with the most
/// free room (the one it held last cycle, while still eligible) is held for it: nothing later in the order goes to
/// that worker, so the room it frees as cases close builds up until the held referral fits, rather than each gap
/// going to the next small case. Candidates show `reserved` with the referral it is held for. Not when the rules
/// read `worker.load` (eligibility then changes within the pass).
///
/// **No priority inversion.** Invariant: when a referral L is assigned to worker w, w is not eligible (every
/// check above, at w's load at that moment) for any referral of L's team that comes before L in the order and is
/// still waiting. Processing in order with loads that never fall gives this whenever eligibility can only be lost
/// as load grows; when the rules read `worker.load`, `guardInversion` makes it hold, by giving w the earlier
/// referral first (checking one blocked referral per `SearchKey`, since referrals of one key meet w alike). And at the
/// end of the pass no waiting referral can be assigned to anyone (with rules that read `worker.load`, the blocked
/// ones are retried until that holds), so a second cycle at the same moment decides nothing.
///
/// Everything on the hot path is indexed by position (referrals, workers, teams): no string hashing per check.
final class Allocator {
    let snapshot: Snapshot
    let ratings: Ratings
    let presence: Presence
    let now: Date
    let policy: AllocationPolicy
    let eligible: [EligibilityRule]

    // Workers, in roster id order; `views[w].load` is the live load.
    var workerIDs: [String] = []
    private var workerIndex: [String: Int] = [:]
    var views: [WorkerView] = []
    private var skillSets: [Set<String>] = []
    private var absentNow: [Bool] = []
    /// Seconds since 1970 when the worker's next absence starts (infinity when none).
    private var nextAbsence: [Double] = []
    /// By rank: the look-ahead in seconds, or -1.
    /// Per rank: the end of its `absence_lookahead` window (seconds since 1970; -1 for none), on the calendar.
    private var lookahead: [Double] = []

    private var teamIDs: [String] = []
    /// Referral id -> the worker (index) a manager took it back from: not given back to them.
    var unassignedWorker: [String: Int] = [:]
    /// Team `k`'s roster id.
    func teamName(_ k: Int) -> String { teamIDs[k] }
    var teams: [TeamState] = []

    // Per referral (index into snapshot.referrals).
    var refTeam: [Int] = []
    var refPoints: [Double] = []
    /// Per referral: the room it needs free on a worker: its points, plus the allocation policy's `headroom`
    /// unless the referral is at the headroom's rank on its risk.
    var refNeed: [Double] = []
    private var assignedTo: [Int] = []
    var assignments: [Int: AssignmentDecision] = [:]
    private var assignmentOrder: [Int] = []
    private var blockedOrder: [Int] = []
    /// Per referral: listed in `blockedOrder` in this pass.
    private var listedBlocked: [Bool] = []
    /// Per worker: the referral whose room it holds, or -1; and the other way round.
    private(set) var heldBy: [Int] = []
    private var heldFor: [Int: Int] = [:]
    var augmentBudget = 50_000
    /// Whether referrals with one `SearchKey` share fruitless searches and block verdicts. Off only in the test
    /// that checks sharing changes nothing while the search budget lasts.
    var sharesByKey = true
    /// Augmenting searches run (not answered from memory), for that test.
    var searches = 0
    let ruleCache: RuleCache
    /// Per referral: its rule context, once made (triage's, or the first `context(i)`).
    private var contexts: [RuleContext?]
    /// Names of the exclusion counters: absent, look-ahead, capacity, skills, then the rules.
    let exclusionNames: [String]
    let ruleIndex: [String: Int]

    private(set) var decisions: [Decision] = []
    /// For each of `decisions`, the index of its referral in the snapshot.
    private(set) var positions: [Int] = []
    /// Per referral index: assigned in this pass.
    private(set) var assignedThisCycle: [Bool] = []
    private(set) var escalationKeys: Set<EscalationKey> = []
    /// Escalations raised while assigning, with the index of each one's referral.
    private(set) var escalationDecisions: [(Int, EscalationDecision)] = []

    struct TeamState {
        var workers: [Int]
        var accountable: Accountable
        var absentCount: Int
        /// By rank: present now but leaving within that rank's look-ahead.
        var leavingCount: [Int]
        /// Workers present now with free capacity, in worker order: the only ones a referral with points can go
        /// to, so the search walks these rather than the whole team.
        var roomy: [Int] = []
        /// The most free capacity of any worker present now.
        var maxFree: Double
        /// Referral indices assigned in this pass, by worker.
        var movable: [Int: [Int]] = [:]
        var movableCount = 0
        var minMovablePoints = Double.infinity
        /// Referral indices blocked in this pass, in allocation order, grouped by `SearchKey` for
        /// `guardInversion` (kept only when the rules read `worker.load`), with each group's first still listed;
        /// referrals without a key are in `blockedUnkeyed`.
        var blockedKeys: [SearchKey] = []
        var blockedByKey: [SearchKey: (list: [Int], head: Int)] = [:]
        var blockedUnkeyed: [Int] = []
        /// Workers held for blocked referrals (`reservations`).
        var holds = 0
        /// Augmenting searches that found nothing since the team's loads last changed: a referral that meets the
        /// team's workers the same way (`SearchKey`) would find nothing either.
        var fruitless: [SearchKey] = []
    }

    static let epsilon = 1e-9

    init(
        snapshot: Snapshot, index: CycleIndex, ratings: Ratings, contexts: [RuleContext?], presence: Presence,
        now: Date
    ) {
        self.contexts = contexts
        self.snapshot = snapshot
        self.ratings = ratings
        self.presence = presence
        self.now = now
        policy = snapshot.policies.allocation
        eligible = policy.eligible
        exclusionNames =
            ["absent", "absence_lookahead", "capacity", "skills"] + policy.eligible.map(\.id) + [
                "reserved", "unassigned",
            ]
        ruleIndex = Dictionary(
            policy.eligible.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { a, _ in a })
        ruleCache = RuleCache(policy: policy, index: index, workerCount: snapshot.roster.workers.count)
        let maxRank = snapshot.policies.triage.flatMap { $0.levels.map(\.rank) }.max() ?? 0
        let zone = snapshot.policies.timeZone
        lookahead = (0...maxRank).map {
            policy.absenceLookahead[$0].map { $0.after(now, in: zone).timeIntervalSince1970 } ?? -1
        }
        let workers = snapshot.roster.workers.sorted { $0.id < $1.id }
        for (i, w) in workers.enumerated() {
            workerIDs.append(w.id)
            workerIndex[w.id] = i
            views.append(WorkerView(worker: w, load: 0))
            skillSets.append(Set(w.skills))
            absentNow.append(presence.isAbsent(w.id))
            nextAbsence.append(presence.nextAbsence(w.id)?.timeIntervalSince1970 ?? .infinity)
        }
        let referrals = snapshot.referrals
        // Points by kind and complexity, worked out once per kind rather than once per referral.
        let points = index.kindIDs.map { kind in (0...5).map { policy.points(kind: kind, complexity: $0) } }
        teamIDs = index.teamIDs
        // Each referral's team and points, and the loads of those allocated (one pass, before the teams' room).
        refTeam = index.team.map { max($0, -1) }
        refPoints.reserveCapacity(referrals.count)
        for i in referrals.indices {
            let k = index.kind[i]
            let complexity = max(0, min(5, referrals[i].referral.complexity))
            refPoints.append(
                k >= 0 ? points[k][complexity] : policy.points(kind: referrals[i].referral.kind, complexity: complexity)
            )
            if let worker = referrals[i].allocation?.worker, let w = workerIndex[worker] {
                views[w].load += refPoints[i]
            }
            if referrals[i].allocation == nil, let from = referrals[i].unassignedFrom, let w = workerIndex[from] {
                unassignedWorker[referrals[i].referral.id] = w
            }
        }
        // The headroom is for top-rank work on its risk, and for referrals past `max_wait` (the other promise).
        let headroom = policy.headroom
        let bound =
            policy.maxWait.map { $0.before(now, in: snapshot.policies.timeZone).timeIntervalSince1970 } ?? -.infinity
        refNeed = refPoints.indices.map { i in
            guard let h = headroom, ratings.rank[i] != nil, ratings.riskRank[i] < h.minRank,
                referrals[i].referral.received.timeIntervalSince1970 >= bound
            else { return refPoints[i] }
            return refPoints[i] + h.points
        }
        // Candidates: everyone of the team except managers without a caseload.
        var members = Array(repeating: [Int](), count: teamIDs.count)
        for (i, w) in workers.enumerated() where !(w.isManager && w.capacity <= 0) {
            if let t = index.teams.position(of: w.team) { members[t].append(i) }
        }
        for (t, id) in teamIDs.enumerated() {
            let list = members[t]
            let leaving = lookahead.map { until in
                until < 0 ? 0 : list.filter { !absentNow[$0] && nextAbsence[$0] < until }.count
            }
            var state = TeamState(
                workers: list, accountable: presence.accountable(team: id, roster: snapshot.roster),
                absentCount: list.filter { absentNow[$0] }.count, leavingCount: leaving, maxFree: 0)
            state.roomy = list.filter { !absentNow[$0] && free($0) > Self.epsilon }
            state.maxFree = maxFree(state.roomy)
            teams.append(state)
        }
        assignedTo = Array(repeating: -1, count: snapshot.referrals.count)
        listedBlocked = Array(repeating: false, count: snapshot.referrals.count)
        heldBy = Array(repeating: -1, count: workers.count)
        assignedThisCycle = Array(repeating: false, count: snapshot.referrals.count)
    }

    func free(_ w: Int) -> Double { views[w].capacity - views[w].load }

    private func maxFree(_ members: [Int]) -> Double {
        var m = 0.0
        for w in members where !absentNow[w] { m = max(m, free(w)) }
        return m
    }

    /// Keeps a team's `roomy` list and `maxFree` right after worker `w`'s load changed.
    private func updateRoom(team t: Int, worker w: Int) {
        teams[t].fruitless.removeAll()
        let hasRoom = !absentNow[w] && heldBy[w] < 0 && free(w) > Self.epsilon
        if let k = teams[t].roomy.firstIndex(of: w) {
            if !hasRoom { teams[t].roomy.remove(at: k) }
        } else if hasRoom {
            let k = teams[t].roomy.firstIndex { $0 > w } ?? teams[t].roomy.count
            teams[t].roomy.insert(w, at: k)
        }
        teams[t].maxFree = maxFree(teams[t].roomy)
    }

    func rank(_ i: Int) -> Int { ratings.rank[i] ?? 0 }

    /// Referral `i`'s rule context: triage's when it rated the referral this cycle, else made once here.
    func context(_ i: Int) -> RuleContext {
        let context: RuleContext
        if let known = contexts[i] {
            context = known
        } else {
            var r = snapshot.referrals[i].referral
            if r.team == nil { r.team = snapshot.roster.teamForKind[r.kind] }
            context = RuleContext(referral: r, now: now, timeZone: snapshot.policies.timeZone)
            contexts[i] = context
        }
        context.ruleClass = ruleCache.classOf(i, context)
        return context
    }

    func isLeaving(_ w: Int, rank: Int) -> Bool {
        let until = rank < lookahead.count ? lookahead[rank] : -1
        return until >= 0 && nextAbsence[w] < until
    }

    /// The first check worker `w` fails for the referral in `context`, or nil when eligible.
    func exclusion(
        _ context: inout RuleContext, worker w: Int, rank: Int, points: Double, ignoreCapacity: Bool = false
    ) -> Exclusion? {
        if absentNow[w] { return .absent }
        if !unassignedWorker.isEmpty, unassignedWorker[context.referral.id] == w { return .unassigned }
        if isLeaving(w, rank: rank) { return .leavingSoon }
        if !ignoreCapacity && views[w].load + points > views[w].capacity + Self.epsilon { return .capacity }
        for skill in context.referral.skills where !skillSets[w].contains(skill) { return .skills }
        if eligible.isEmpty { return nil }
        let c = context.ruleClass
        if c >= 0, let known = ruleCache.outcome(class: c, worker: w) {
            return known < 0 ? nil : .rule(eligible[known].id)
        }
        context.worker = views[w]
        let failing = policy.firstFailingRule(context)
        if c >= 0 { ruleCache.remember(class: c, worker: w, failing: failing) }
        return failing.map { .rule(eligible[$0].id) }
    }

    func score(_ context: RuleContext, worker w: Int, lastWorker: Int) -> ScoreParts {
        let p = policy.prefer
        let cap = views[w].capacity
        let leastLoaded = cap > 0 ? p.leastLoaded * max(0, 1 - views[w].load / cap) : 0
        var special = false
        if p.specialism != 0 {
            for flag in context.referral.flags where skillSets[w].contains(flag) {
                special = true
                break
            }
        }
        return ScoreParts(
            continuity: w == lastWorker ? p.continuity : 0, leastLoaded: leastLoaded,
            specialism: special ? p.specialism : 0)
    }

    func lastWorker(_ i: Int) -> Int {
        snapshot.lastWorker[snapshot.referrals[i].referral.person].flatMap { workerIndex[$0] } ?? -1
    }

    /// Sets a worker's load (for explanations against a hypothetical load).
    func setLoad(worker id: String, to load: Double) {
        guard let w = workerIndex[id] else { return }
        views[w].load = load
        ruleCache.loadChanged(worker: w)
        for t in teams.indices where teams[t].workers.contains(w) { updateRoom(team: t, worker: w) }
    }

    /// Every worker of the team with score parts or exclusion, for the explanation.
    func candidates(_ i: Int, rank: Int) -> [Candidate] {
        let t = refTeam[i]
        guard t >= 0 else { return [] }
        var ctx = context(i)
        let p = refNeed[i]
        let last = lastWorker(i)
        var out: [Candidate] = []
        out.reserveCapacity(teams[t].workers.count)
        for w in teams[t].workers {
            if let e = exclusion(&ctx, worker: w, rank: rank, points: p) {
                out.append(
                    Candidate(
                        worker: workerIDs[w], parts: nil, excludedBy: e,
                        room: e == .capacity ? (views[w].load, views[w].capacity, p) : nil))
            } else if heldBy[w] >= 0 && heldBy[w] != i {
                out.append(
                    Candidate(
                        worker: workerIDs[w], parts: nil,
                        excludedBy: .reserved(snapshot.referrals[heldBy[w]].referral.id)))
            } else {
                out.append(
                    Candidate(worker: workerIDs[w], parts: score(ctx, worker: w, lastWorker: last), excludedBy: nil))
            }
        }
        return out
    }

    func run() {
        // Sort keys side by side with each index, so the sort compares numbers in one array and only looks at
        // ids on full ties.
        for i in Self.order(snapshot, ratings: ratings, policy: policy, now: now) { allocate(i) }
        // Rules that read `worker.load` can make a worker eligible as its load grows: pass over what is still
        // blocked, in the same order, until nothing changes, so that the cycle ends at a fixpoint (a second cycle
        // on its result assigns nothing). Other rules cannot gain eligibility as loads grow: one pass suffices.
        var passes = 0
        while ruleCache.readsLoad && passes < 16 {
            passes += 1
            let before = assignmentOrder.count
            let retry = blockedOrder.filter { assignedTo[$0] < 0 }
            blockedOrder = []
            for i in retry { listedBlocked[i] = false }
            for t in teams.indices {
                teams[t].blockedKeys = []
                teams[t].blockedByKey = [:]
                teams[t].blockedUnkeyed = []
            }
            for i in retry { allocate(i) }
            if assignmentOrder.count == before { break }
        }
        for i in assignmentOrder {
            decisions.append(.assigned(assignments[i]!))
            positions.append(i)
        }
        // The loads stay put from here, so referrals of a team with one key share their reason and counts (worth
        // remembering only when someone present has room for them: otherwise both come from counts at once).
        struct Blocked: Hashable {
            var team: Int
            var key: SearchKey
        }
        var reasons: [Blocked: BlockReason] = [:]
        var counts: [Blocked: ([(String, Int)], Int)] = [:]
        for i in blockedOrder where assignedTo[i] < 0 {
            let t = refTeam[i]
            let roomy = t >= 0 && refNeed[i] <= teams[t].maxFree + Self.epsilon
            let shared = sharesByKey && roomy ? searchKey(i, context(i)).map { Blocked(team: t, key: $0) } : nil
            let reason = shared.flatMap { reasons[$0] } ?? blockReason(i)
            if let shared { reasons[shared] = reason }
            let held = heldOn(i)
            guard snapshot.referrals[i].blocked != reason || snapshot.referrals[i].heldOn != held else { continue }
            // A referral holding a worker is counted on its own: its key's counts may include that worker as
            // `reserved`.
            let sharedCounts = held == nil ? shared : nil
            let (excluded, count) = sharedCounts.flatMap { counts[$0] } ?? exclusions(i)
            if let sharedCounts { counts[sharedCounts] = (excluded, count) }
            decisions.append(
                .blocked(
                    referral: snapshot.referrals[i].referral.id, reason: reason, excluded: excluded, candidates: count,
                    held: held))
            positions.append(i)
        }
    }

    private func allocate(_ i: Int) {
        let rank = rank(i)
        let t = refTeam[i]
        guard t >= 0 else {
            markBlocked(i)
            return
        }
        let p = refNeed[i]
        while true {
            if p > teams[t].maxFree + Self.epsilon {
                // Nobody present has room: no rule needs evaluating.
                if !augment(i, team: t) { markBlocked(i) }
                return
            }
            var ctx = context(i)
            let last = lastWorker(i)
            var best = -1
            var bestScore = -Double.infinity
            // Only workers with room can be eligible (a referral of no points could go to anyone).
            let pool = refPoints[i] > Self.epsilon ? teams[t].roomy : teams[t].workers
            for w in pool where exclusion(&ctx, worker: w, rank: rank, points: p) == nil {
                let s = score(ctx, worker: w, lastWorker: last).total
                if s > bestScore {
                    best = w
                    bestScore = s
                }
            }
            if best >= 0 {
                if ruleCache.readsLoad, let earlier = guardInversion(worker: best, team: t) {
                    // A referral earlier in the order, blocked, that this worker can now take goes first; then
                    // try again.
                    allocate(earlier)
                    continue
                }
                assign(i, to: best, team: t, moved: nil)
                return
            }
            if !augment(i, team: t) { markBlocked(i) }
            return
        }
    }

    private func markBlocked(_ i: Int) {
        if !listedBlocked[i] {
            listedBlocked[i] = true
            blockedOrder.append(i)
        }
        let t = refTeam[i]
        guard t >= 0 else { return }
        if ruleCache.readsLoad {
            if let key = searchKey(i, context(i)) {
                if teams[t].blockedByKey[key] == nil {
                    teams[t].blockedKeys.append(key)
                    teams[t].blockedByKey[key] = ([], 0)
                }
                teams[t].blockedByKey[key]!.list.append(i)
            } else {
                teams[t].blockedUnkeyed.append(i)
            }
        }
        // Holding room needs eligibility that cannot change within the pass: with rules that read `worker.load`
        // a held referral could become assignable elsewhere, and the retry passes would have to undo holds.
        if !ruleCache.readsLoad && teams[t].holds < policy.reservations && heldFor[i] == nil {
            hold(for: i, team: t)
        }
    }

    /// Holds a worker's room for referral `i`, blocked, when it is blocked only for lack of room: the worker it
    /// held last cycle if still eligible apart from room, else the eligible worker with the most free room (then
    /// the lower worker id).
    private func hold(for i: Int, team t: Int) {
        guard refPoints[i] > Self.epsilon else { return }
        let rank = rank(i)
        var ctx = context(i)
        let previous = snapshot.referrals[i].heldOn.flatMap { workerIndex[$0] } ?? -1
        var best = -1
        for w in teams[t].workers where heldBy[w] < 0 && views[w].capacity + Self.epsilon >= refNeed[i] {
            guard exclusion(&ctx, worker: w, rank: rank, points: refNeed[i], ignoreCapacity: true) == nil else {
                continue
            }
            if w == previous {
                best = w
                break
            }
            if best < 0 || free(w) > free(best) + Self.epsilon { best = w }
        }
        guard best >= 0 else { return }
        heldBy[best] = i
        heldFor[i] = best
        teams[t].holds += 1
        updateRoom(team: t, worker: best)
    }

    /// The worker whose room is held for referral `i`, by id.
    func heldOn(_ i: Int) -> String? { heldFor[i].map { workerIDs[$0] } }

    /// A referral blocked earlier in this pass (so earlier in the order) that worker `w` is now eligible for,
    /// taken off the team's blocked groups; nil when none. Only rules that read `worker.load` can make a worker
    /// eligible as its load grows, so only then is this asked. One referral per `SearchKey` is checked: the
    /// group's first still blocked, since the others meet `w` the same way.
    private func guardInversion(worker w: Int, team t: Int) -> Int? {
        func fits(_ h: Int) -> Bool {
            guard assignedTo[h] < 0, views[w].load + refNeed[h] <= views[w].capacity + Self.epsilon else {
                return false
            }
            var ctx = context(h)
            return exclusion(&ctx, worker: w, rank: rank(h), points: refNeed[h]) == nil
        }
        for key in teams[t].blockedKeys {
            guard var group = teams[t].blockedByKey[key] else { continue }
            while group.head < group.list.count && assignedTo[group.list[group.head]] >= 0 { group.head += 1 }
            teams[t].blockedByKey[key] = group
            guard group.head < group.list.count else { continue }
            let h = group.list[group.head]
            if fits(h) {
                teams[t].blockedByKey[key]!.head += 1
                return h
            }
        }
        if let k = teams[t].blockedUnkeyed.firstIndex(where: fits) { return teams[t].blockedUnkeyed.remove(at: k) }
        return nil
    }

    func assign(_ i: Int, to w: Int, team t: Int, moved: String?) {
        let accountable = teams[t].accountable
        let level = ratings.rating(i)!.level
        let decision = AssignmentDecision(
            referral: snapshot.referrals[i].referral.id, worker: workerIDs[w], level: level, rank: rank(i),
            points: refPoints[i], accountable: accountable,
            parts: score(context(i), worker: w, lastWorker: lastWorker(i)),
            candidates: candidates(i, rank: rank(i)), moved: moved)
        if assignments[i] == nil { assignmentOrder.append(i) }
        assignments[i] = decision
        place(i, on: w, team: t)
        if accountable.manager == nil {
            let key = EscalationKey(
                referral: decision.referral, reason: .noManagerAvailable, position: accountable.position)
            if !snapshot.escalations.contains(key) && !escalationKeys.contains(key) {
                escalationKeys.insert(key)
                let e = EscalationDecision(
                    referral: decision.referral, reason: .noManagerAvailable, to: nil, position: accountable.position,
                    since: now)
                escalationDecisions.append((i, e))
            }
        }
    }

    /// Puts referral `i` on worker `w`: load, movable lists, team free capacity.
    func place(_ i: Int, on w: Int, team t: Int) {
        let p = refPoints[i]
        views[w].load += p
        ruleCache.loadChanged(worker: w)
        assignedTo[i] = w
        assignedThisCycle[i] = true
        teams[t].movable[w, default: []].append(i)
        teams[t].movableCount += 1
        teams[t].minMovablePoints = min(teams[t].minMovablePoints, p)
        updateRoom(team: t, worker: w)
    }

    func unplace(_ i: Int, team t: Int) {
        let w = assignedTo[i]
        guard w >= 0 else { return }
        views[w].load -= refPoints[i]
        ruleCache.loadChanged(worker: w)
        assignedTo[i] = -1
        teams[t].movable[w]?.removeAll { $0 == i }
        teams[t].movableCount -= 1
        updateRoom(team: t, worker: w)
    }
}

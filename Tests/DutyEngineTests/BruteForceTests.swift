import DutyCore
import DutyPolicy
import Foundation
import Testing

@testable import DutyEngine

/// The shipped safeguarding policy with an allocation policy where every referral is one point: the case
/// where the engine's answer is provably the best.
let unitPointPolicies: PolicySet = {
    let dir = NSTemporaryDirectory() + "duty-unit-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir + "/triage", withIntermediateDirectories: true)
    try! FileManager.default.copyItem(
        atPath: repositoryRoot + "/policies/triage/safeguarding.json5", toPath: dir + "/triage/safeguarding.json5")
    try! """
    {
      points: { default: 1, complexity: { "1": 1, "2": 1, "3": 1, "4": 1, "5": 1 } },
      eligible: [
        { id: "ASYE", when: "not worker.asye or complexity <= 3", because: "protected caseload" },
        { id: "EXP", when: "complexity <= worker.experience + 1", because: "complex work needs experience" },
        { id: "DA", when: "'domestic_abuse' not in flags or 'domestic_abuse' in worker.skills", because: "specialist" },
      ],
      prefer: { continuity: 3, least_loaded: 1, specialism: 0.5 },
    }
    """.write(toFile: dir + "/allocation.json5", atomically: true, encoding: .utf8)
    let (set, d) = PolicySet.load(directory: dir, roster: smallRoster())
    precondition(set != nil, "\(d)")
    return set!
}()

@Suite struct BruteForceTests {
    /// Per rank (3, 2, 1), how many are assigned: the objective, compared lexicographically.
    static func byRank(_ ranks: [Int]) -> [Int] { [3, 2, 1].map { r in ranks.filter { $0 == r }.count } }

    @Test func engineMatchesExhaustiveSearchWithUnitPoints() {
        var compared = 0
        var augmented = 0
        for seed in UInt64(1)...1200 {
            var rng = SplitMix64(seed: seed &* 7919)
            var extra: [Worker] = []
            for n in 0..<rng.int(1...3) {
                extra.append(
                    Worker(
                        id: "x\(n)", name: "X", team: "sg", role: "social_worker",
                        skills: rng.chance(0.4) ? ["domestic_abuse"] : [], capacity: Double(rng.int(0...3)),
                        experience: rng.int(1...5), asye: rng.chance(0.3)))
            }
            var roster = smallRoster(workers: extra)
            roster = Roster(
                services: roster.services, teams: roster.teams,
                workers: roster.workers.filter { $0.isManager || $0.id.hasPrefix("x") })
            var world = World(roster: roster, policies: unitPointPolicies)
            let flags = ["risk_to_life", "deteriorating", "domestic_abuse"]
            for n in 0..<rng.int(1...7) {
                world.refer(
                    "R-\(n)", flags: flags.filter { _ in rng.chance(0.35) }, complexity: rng.int(1...5),
                    received: t0 - hours(Int64(rng.int(1...90))))
            }
            let snapshot = world.snapshot
            let plan = Engine.plan(snapshot, now: t0)
            augmented += plan.assignments.filter { $0.moved != nil }.count
            var ratings: [String: Int] = [:]
            for d in plan.decisions { if case .rated(let id, let r, _) = d { ratings[id] = r.rank } }
            let engine = Self.byRank(plan.assignments.map(\.rank))

            // Exhaustive: every referral to an eligible worker with room, or to nobody.
            let workers = roster.workers.filter { !$0.isManager }
            let ids = snapshot.referrals.map(\.referral.id)
            let unlimited = Dictionary(uniqueKeysWithValues: workers.map { ($0.id, -100.0) })
            let eligible: [[Bool]] = ids.map { id in
                let c = Engine.candidates(for: id, in: snapshot, now: t0, loads: unlimited)!
                return workers.map { w in c.first { $0.worker == w.id }?.eligible ?? false }
            }
            var best = [0, 0, 0]
            var room = workers.map { Int($0.capacity) }
            var chosen: [Int] = []
            func search(_ k: Int) {
                if k == ids.count {
                    let v = Self.byRank(chosen.map { ratings[ids[$0]]! })
                    if v.lexicographicallyPrecedes(best) == false && v != best { best = v }
                    return
                }
                search(k + 1)
                for (w, ok) in eligible[k].enumerated() where ok && room[w] > 0 {
                    room[w] -= 1
                    chosen.append(k)
                    search(k + 1)
                    chosen.removeLast()
                    room[w] += 1
                }
            }
            search(0)
            #expect(engine == best, "seed \(seed): engine \(engine), best \(best)")
            compared += 1
        }
        #expect(compared == 1200)
        #expect(augmented > 10, "the cases must include augmenting paths")
    }
}

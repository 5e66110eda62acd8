import DutyCore
import DutyPolicy
import Foundation
import Testing

@testable import DutyEngine

typealias TestRNG = SplitMix64

let randomKinds = ["safeguarding", "dols", "ot"]
let flagPool: [String: [String]] = [
    "safeguarding": ["risk_to_life", "deteriorating", "carer_strain", "below_s42_threshold", "domestic_abuse"],
    "dols": ["urgent_authorisation", "objection", "new_placement", "end_of_life"],
    "ot": ["unsafe_transfers", "recent_falls", "deteriorating"],
]

/// A random council of three teams and a random backlog, from a seed.
func randomSnapshot(seed: UInt64, policies: PolicySet? = nil) -> Snapshot {
    var rng = SplitMix64(seed: seed)
    var workers = [
        Worker(id: "h", name: "H", team: "sg", role: "head_of_service"),
        Worker(id: "d1", name: "D1", team: "dl", role: "service_manager"),
        Worker(id: "d2", name: "D2", team: "ot", role: "service_manager"),
        Worker(id: "m-sg", name: "M", team: "sg", role: "team_manager"),
        Worker(id: "dep-sg", name: "D", team: "sg", role: "deputy_manager"),
        Worker(id: "m-dl", name: "M", team: "dl", role: "team_manager", capacity: Double(rng.int(0...1) * 4)),
        Worker(id: "m-ot", name: "M", team: "ot", role: "team_manager"),
        Worker(id: "dep-ot", name: "D", team: "ot", role: "deputy_manager"),
    ]
    for team in ["sg", "dl", "ot"] {
        for n in 0..<rng.int(0...6) {
            var skills: [String] = []
            var role = "social_worker"
            if team == "dl" && rng.chance(0.7) { skills.append("bia") }
            if team == "sg" && rng.chance(0.3) { skills.append("domestic_abuse") }
            if team == "ot" && rng.chance(0.3) { role = "ot_aide" }
            workers.append(
                Worker(
                    id: "\(team)-w\(n)", name: "W", team: team, role: role, skills: skills,
                    capacity: Double(rng.int(0...15)), experience: rng.int(1...5), asye: rng.chance(0.2)))
        }
    }
    let roster = Roster(
        services: [Service(id: "svc", name: "S", head: "h", dutyManagers: ["d1", "d2"])],
        teams: [
            Team(id: "sg", name: "SG", service: "svc", manager: "m-sg", deputies: ["dep-sg"], kinds: ["safeguarding"]),
            Team(id: "dl", name: "DL", service: "svc", manager: "m-dl", kinds: ["dols"]),
            Team(id: "ot", name: "OT", service: "svc", manager: "m-ot", deputies: ["dep-ot"], kinds: ["ot"]),
        ],
        workers: workers)
    var absences: [Absence] = []
    for w in workers {
        if rng.chance(0.15) {
            absences.append(Absence(id: "A\(absences.count)", worker: w.id, from: t0 - days(2), to: t0 + days(3)))
        }
        if rng.chance(0.1) {
            let start = t0 + hours(Int64(rng.int(1...120)))
            absences.append(Absence(id: "A\(absences.count)", worker: w.id, from: start, to: start + days(5)))
        }
    }
    var referrals: [OpenReferral] = []
    let caseWorkers = workers.filter { !$0.isManager || $0.capacity > 0 }
    for n in 0..<rng.int(0...30) {
        let kind = randomKinds[rng.int(0...2)]
        let flags = (flagPool[kind] ?? []).filter { _ in rng.chance(0.25) }
        let referral = Referral(
            id: "R-\(String(format: "%03d", n))", person: "P-\(rng.int(0...12))", kind: kind,
            received: t0 - hours(Int64(rng.int(0...1500))), flags: flags, complexity: rng.int(1...5))
        var open = OpenReferral(referral: referral, needsRating: true)
        let team = roster.teamForKind[kind]!
        let members = caseWorkers.filter { $0.team == team }
        if !members.isEmpty && rng.chance(0.3) {
            let w = members[rng.int(0...(members.count - 1))]
            open.allocation = AllocationRecord(
                worker: w.id, manager: "m-\(team)", at: t0 - hours(Int64(rng.int(0...30))),
                acknowledged: rng.chance(0.5) ? t0 - hours(1) : nil)
        }
        referrals.append(open)
    }
    var lastWorker: [String: String] = [:]
    for p in 0...12 where !caseWorkers.isEmpty && rng.chance(0.3) {
        lastWorker["P-\(p)"] = caseWorkers[rng.int(0...(caseWorkers.count - 1))].id
    }
    return Snapshot(
        referrals: referrals, roster: roster, absences: absences, policies: policies ?? randomPolicies(roster),
        lastWorker: lastWorker)
}

/// The shipped policies for the random council's kinds (loaded once).
let randomPolicySet: PolicySet = shippedPolicies(for: randomSnapshotRosterTemplate)
let randomSnapshotRosterTemplate = Roster(
    services: [Service(id: "svc", name: "S")],
    teams: [
        Team(id: "sg", name: "SG", service: "svc", kinds: ["safeguarding"]),
        Team(id: "dl", name: "DL", service: "svc", kinds: ["dols"]),
        Team(id: "ot", name: "OT", service: "svc", kinds: ["ot"]),
    ], workers: [])
func randomPolicies(_ roster: Roster) -> PolicySet { randomPolicySet }

func loads(_ s: Snapshot) -> [String: Double] {
    var out: [String: Double] = [:]
    for open in s.referrals {
        guard let a = open.allocation else { continue }
        out[a.worker, default: 0] += s.policies.allocation.points(
            kind: open.referral.kind, complexity: open.referral.complexity)
    }
    return out
}

@Suite struct PropertyTests {
    static let seeds: [UInt64] = Array(1...1500)

    @Test func invariantsHoldOnRandomSnapshots() {
        let (assigned, blocked) = Self.check(seeds: Self.seeds, policies: nil)
        // The generator must exercise both outcomes, or the properties prove little.
        #expect(assigned > 5_000)
        #expect(blocked > 1_000)
    }

    /// Rules that read the worker's load (eligibility can be gained as load grows) and `waiting` (no rule
    /// caching): the invariants must hold for any rules, not only monotone ones.
    @Test func invariantsHoldWithLoadDependentRules() throws {
        let dir = NSTemporaryDirectory() + "duty-load-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repositoryRoot + "/policies/triage", toPath: dir + "/triage")
        try """
        {
          points: { default: 1, kinds: { safeguarding: 3, dols: 2, ot: 1.5 } },
          eligible: [
            { id: "LOAD", when: "worker.load >= 3 or complexity <= 3", because: "busy workers take the complex cases" },
            { id: "WAIT", when: "waiting < 40d or worker.experience >= 3", because: "old cases to experienced staff" },
          ],
          prefer: { continuity: 1, least_loaded: 2, specialism: 0.5 },
          absence_lookahead: { "3": "3d" },
        }
        """.write(toFile: dir + "/allocation.json5", atomically: true, encoding: .utf8)
        let (set, d) = PolicySet.load(directory: dir, roster: randomSnapshotRosterTemplate)
        let policies = try #require(set, "\(d)")
        let (assigned, _) = Self.check(seeds: Array(1...600), policies: policies, loadDependent: true)
        #expect(assigned > 1_000)
    }

    /// With `loadDependent` rules, a worker may become eligible for a waiting referral only because of what it
    /// took later, so the end-state check asks whether the worker could take it now (at its final load).
    static func check(seeds: [UInt64], policies: PolicySet?, loadDependent: Bool = false) -> (Int, Int) {
        var assignmentsSeen = 0
        var blockedSeen = 0
        for seed in seeds {
            let snapshot = randomSnapshot(seed: seed, policies: policies)
            let plan = Engine.plan(snapshot, now: t0)
            let after = snapshot.applying(plan, now: t0)
            let finalLoads = loads(after)
            let presence = Presence(absences: snapshot.absences, now: t0)
            let points = snapshot.policies.allocation
            assignmentsSeen += plan.assignments.count
            blockedSeen += plan.decisions.filter { $0.eventType == "allocation.blocked" }.count

            for a in plan.assignments {
                let worker = snapshot.roster.workerByID[a.worker]!
                // Capacity is never exceeded by the engine.
                #expect(
                    finalLoads[a.worker, default: 0] <= worker.capacity + 1e-9,
                    "seed \(seed): \(a.worker) over capacity")
                // No absent worker is assigned.
                #expect(!presence.isAbsent(a.worker), "seed \(seed): \(a.worker) is absent")
                // Every assignment has an accountable manager or an escalation saying nobody is there.
                #expect(
                    a.accountable.manager != nil
                        || plan.escalations.contains { $0.referral == a.referral && $0.reason == .noManagerAvailable },
                    "seed \(seed)")
                // No priority inversion: the worker could not take any higher-rank referral of the team still
                // waiting, even without this assignment's points.
                let open = after.referrals.first { $0.referral.id == a.referral }!
                let p = points.points(kind: open.referral.kind, complexity: open.referral.complexity)
                let team = open.referral.team ?? snapshot.roster.teamForKind[open.referral.kind]!
                for h in after.referrals where h.isWaiting && (h.rating?.rank ?? 0) > a.rank {
                    guard (h.referral.team ?? snapshot.roster.teamForKind[h.referral.kind]) == team else { continue }
                    let load = finalLoads[a.worker, default: 0] - (loadDependent ? 0 : p)
                    let c = Engine.candidates(for: h.referral.id, in: after, now: t0, loads: [a.worker: load])
                    let mine = c?.first { $0.worker == a.worker }
                    #expect(
                        mine?.eligible != true,
                        "seed \(seed): \(a.worker) took \(a.referral) (rank \(a.rank)) over \(h.referral.id)")
                }
            }
            // Determinism: the same snapshot and now give the same decisions.
            let again = Engine.plan(snapshot, now: t0)
            #expect(
                again.decisions.map { $0.eventData.serialized() } == plan.decisions.map { $0.eventData.serialized() },
                "seed \(seed)")
            #expect(again.types == plan.types)
            // Positions: each decision and review due names the referral at its position in the snapshot.
            #expect(plan.positions.count == plan.decisions.count, "seed \(seed)")
            #expect(plan.reviewPositions.count == plan.reviewsDue.count, "seed \(seed)")
            for (d, i) in zip(plan.decisions, plan.positions) {
                #expect(snapshot.referrals[i].referral.id == d.referral, "seed \(seed): \(d.eventType)")
            }
            for (r, i) in zip(plan.reviewsDue, plan.reviewPositions) {
                #expect(snapshot.referrals[i].referral.id == r.referral, "seed \(seed): review")
            }
            // A plan applied to the snapshot in another order (its positions no longer fit) finds referrals by id.
            var reordered = snapshot
            reordered.referrals.reverse()
            reordered.apply(plan, now: t0)
            func state(_ s: Snapshot) -> [String: String] {
                Dictionary(
                    uniqueKeysWithValues: s.referrals.map {
                        (
                            $0.referral.id,
                            "\($0.rating?.level ?? "-") \($0.allocation?.worker ?? "-") \($0.blocked as Any)"
                        )
                    })
            }
            #expect(state(reordered) == state(after), "seed \(seed)")
            #expect(reordered.escalations == after.escalations && reordered.lastWorker == after.lastWorker)
            // Idempotence: a second cycle on the result at the same now decides nothing.
            let second = Engine.plan(after, now: t0)
            #expect(second.decisions.isEmpty, "seed \(seed): \(second.types)")
        }
        return (assignmentsSeen, blockedSeen)
    }
}

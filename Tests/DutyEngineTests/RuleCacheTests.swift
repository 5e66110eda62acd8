import DutyCore
import DutyPolicy
import Foundation
import Testing

@testable import DutyEngine

/// The allocator remembers eligibility by referral class; a remembered outcome must be the one evaluating the
/// rules afresh gives, whether classes are packed (rules that read only kind, team and complexity, as the shipped
/// policy does) or built from the values the rules read (here flags and a fact).
@Suite struct RuleCacheTests {
    @Test func rememberedOutcomesAreFreshOutcomes() throws {
        let dir = NSTemporaryDirectory() + "duty-rulecache-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: repositoryRoot + "/policies/triage", toPath: dir + "/triage")
        try """
        {
          points: { default: 1 },
          eligible: [
            { id: "DA", when: "not ('deteriorating' in flags) or worker.experience >= 3", because: "harder cases" },
            { id: "OLD", when: "facts.age < 90 or 'bia' in worker.skills", because: "a test rule reading a fact" },
          ],
          prefer: { continuity: 1, least_loaded: 1 },
        }
        """.write(toFile: dir + "/allocation.json5", atomically: true, encoding: .utf8)
        let (set, d) = PolicySet.load(directory: dir, roster: randomSnapshotRosterTemplate)
        let readingFlags = try #require(set, "\(d)")
        var hits = 0
        for policies in [randomPolicySet, readingFlags] {
            for seed in UInt64(1)...150 {
                let snapshot = randomSnapshot(seed: seed, policies: policies)
                let index = CycleIndex(snapshot)
                let cache = RuleCache(
                    policy: policies.allocation, index: index, workerCount: snapshot.roster.workers.count)
                let workers = snapshot.roster.workers.sorted { $0.id < $1.id }
                for i in snapshot.referrals.indices {
                    var referral = snapshot.referrals[i].referral
                    if referral.team == nil { referral.team = snapshot.roster.teamForKind[referral.kind] }
                    let context = RuleContext(referral: referral, now: t0)
                    let c = cache.classOf(i, context)
                    #expect(c >= 0)
                    for (w, worker) in workers.enumerated() {
                        context.worker = WorkerView(worker: worker, load: 0)
                        let fresh = policies.allocation.firstFailingRule(context)
                        if let known = cache.outcome(class: c, worker: w) {
                            hits += 1
                            #expect((known < 0 ? nil : known) == fresh, "seed \(seed): \(referral.id) \(worker.id)")
                        } else {
                            cache.remember(class: c, worker: w, failing: fresh)
                        }
                    }
                }
            }
        }
        #expect(hits > 10_000)
    }
}

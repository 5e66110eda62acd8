import DutyCore
import DutyPolicy
import Foundation
import Testing

@testable import DutyEngine

/// Remembering an augmenting search that found nothing (until a load in its team changes), and sharing block
/// reasons and exclusion counts at the end of the pass, must not change a single decision while the search budget
/// lasts: referrals with the same key search the same moves and meet the same workers alike.
@Suite struct FruitlessSearchTests {
    @Test func rememberingChangesNoDecision() {
        var searched = (remembering: 0, not: 0)
        for seed in UInt64(1)...800 {
            let snapshot = randomSnapshot(seed: seed)
            func decisions(remembering: Bool) -> [String] {
                var plan = Plan(decisions: [], reviewsDue: [])
                var contexts: [RuleContext?] = []
                let index = CycleIndex(snapshot)
                let ratings = Engine.triage(snapshot, index: index, now: t0, into: &plan, contexts: &contexts)
                let allocator = Allocator(
                    snapshot: snapshot, index: index, ratings: ratings, contexts: contexts,
                    presence: Presence(absences: snapshot.absences, now: t0), now: t0)
                allocator.sharesByKey = remembering
                allocator.run()
                if remembering {
                    searched.remembering += allocator.searches
                } else {
                    searched.not += allocator.searches
                }
                return allocator.decisions.map { "\($0.referral) \($0.eventType) \($0.eventData.serialized())" }
            }
            #expect(decisions(remembering: true) == decisions(remembering: false), "seed \(seed)")
        }
        // The random councils must make the allocator search, and memory must spare some searches, or this proves
        // little.
        #expect(searched.not > 1_000, "\(searched)")
        #expect(searched.remembering < searched.not, "\(searched)")
    }
}

import DutyCore
import DutyPolicy
import Foundation
import Testing

@testable import DutyEngine

@Suite struct TriageTests {
    /// No worker can take anything, so referrals stay waiting and are re-rated every cycle.
    func blockedWorld() -> World {
        var world = World()
        for w in ["a", "b", "c"] { world.absent(w, from: t0 - days(1), to: t0 + days(60)) }
        return world
    }

    @Test func ratesNewReferralsOnceAndAgesWaitingOnes() {
        var world = blockedWorld()
        world.refer("S-1", received: t0)
        let first = world.cycle(at: t0)
        #expect(first.types == ["triage.rated S-1", "allocation.blocked S-1"])
        #expect(world.open("S-1")?.rating?.level == "green")
        #expect(world.cycle(at: t0 + days(1)).decisions.isEmpty, "nothing new, nothing written")
        let aged = world.cycle(at: t0 + days(4) + hours(1))
        guard case .rerated(_, let from, let to, let pinRaised) = aged.decisions.first else {
            Issue.record("expected a re-rating: \(aged.types)")
            return
        }
        #expect(from.level == "green" && to.level == "amber" && to.rules == ["SG-AGE1"] && !pinRaised)
        #expect(to.due == t0 + days(4))
    }

    @Test func updatedReferralsAreReratedEvenWhenAllocated() {
        var world = World()
        let i = world.refer("S-1", received: t0)
        world.cycle(at: t0)
        #expect(world.open("S-1")?.allocation != nil)
        world.snapshot.referrals[i].referral.flags = ["risk_to_life"]
        world.snapshot.referrals[i].needsRating = true
        let plan = world.cycle(at: t0 + hours(1))
        #expect(plan.types.first == "triage.rerated S-1")
        #expect(world.open("S-1")?.rating?.level == "red")
    }

    @Test func aPinHoldsUntilThePolicyRisesAboveIt() {
        var world = blockedWorld()
        let i = world.refer("S-1", received: t0)
        world.cycle(at: t0)
        // A manager pins amber while the policy says green.
        world.snapshot.referrals[i].pin = Pin(level: "amber", rank: 2, policyRank: 1)
        world.snapshot.referrals[i].needsRating = true
        let pinned = world.cycle(at: t0 + hours(1))
        #expect(world.open("S-1")?.rating?.level == "amber")
        #expect(pinned.types.first == "triage.rerated S-1")
        // The policy reaches amber at 4 days: the level stays, the pin stays; the new matching rule is logged.
        let aging = world.cycle(at: t0 + days(5)).decisions.filter { $0.eventType.hasPrefix("triage") }
        #expect(aging.map { $0.eventData.serialized().contains(#""level":"amber""#) } == [true])
        #expect(aging.map { $0.eventData.serialized().contains(#""rules":["SG-AGE1"]"#) } == [true])
        #expect(world.open("S-1")?.pin != nil)
        // At 10 days the policy says red, above the pin: raised and logged, the pin cleared.
        let raised = world.cycle(at: t0 + days(10) + hours(1))
        guard case .rerated(_, let from, let to, let pinRaised) = raised.decisions.first else {
            Issue.record("expected a re-rating: \(raised.types)")
            return
        }
        #expect(from.level == "amber" && to.level == "red" && pinRaised)
        #expect(world.open("S-1")?.pin == nil)
    }

    @Test func aManagerMayKnowinglyLowerAndThePinHolds() {
        var world = blockedWorld()
        let i = world.refer("S-1", flags: ["risk_to_life"], received: t0)
        world.cycle(at: t0)
        world.snapshot.referrals[i].pin = Pin(level: "green", rank: 1, policyRank: 3)
        world.snapshot.referrals[i].needsRating = true
        world.cycle(at: t0 + hours(1))
        #expect(world.open("S-1")?.rating?.level == "green")
        #expect(world.open("S-1")?.rating?.rules == ["SG-R1"], "the explanation still shows what the policy found")
        world.cycle(at: t0 + days(20))
        #expect(world.open("S-1")?.rating?.level == "green", "the policy cannot rise above red, so the pin holds")
    }

    @Test func eventsCarryTheContractFields() {
        var world = World()
        world.refer("S-1", flags: ["risk_to_life"], received: t0)
        let plan = world.cycle(at: t0)
        #expect(
            plan.decisions[0].eventData.serialized()
                == #"{"policy":"safeguarding-rag","policy_version":"2026.1","level":"red","rank":3,"rules":["SG-R1"],"due":"2024-09-11T09:00:00Z"}"#
        )
        let assigned = plan.decisions[1].eventData.serialized()
        for field in [
            "\"worker\":\"a\"", "\"manager\":\"m\"", "\"fallback\":false", "\"fallback_reason\":null",
            "\"candidates\":[",
        ] {
            #expect(assigned.contains(field), "\(field) in \(assigned)")
        }
    }
}

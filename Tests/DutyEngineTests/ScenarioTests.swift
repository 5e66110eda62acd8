import DutyCore
import DutyPolicy
import Foundation
import Testing

@testable import DutyEngine

@Suite struct AccountableManagerTests {
    /// Who is away -> who is accountable, whether it is a fallback, and why.
    @Test(arguments: [
        ([], "m", 0, false, nil as String?),
        (["m"], "dep", 1, true, "manager_absent"),
        (["m", "dep"], "d1", 2, true, "manager_absent"),
        (["m", "dep", "d1"], "d2", 3, true, "manager_absent"),
        (["m", "dep", "d1", "d2"], "h", 4, true, "manager_absent"),
    ])
    func fallbackChain(away: [String], manager: String, position: Int, fallback: Bool, reason: String?) {
        var world = World()
        for person in away { world.absent(person, from: t0 - days(1), to: t0 + days(5)) }
        world.refer("S-1", flags: ["risk_to_life"])
        let a = world.cycle(at: t0).assignment("S-1")
        #expect(a?.accountable.manager == manager)
        #expect(a?.accountable.position == position)
        #expect(a?.accountable.fallback == fallback)
        #expect(a?.accountable.fallbackReason == reason)
        #expect(a?.accountable.skipped == away)
    }

    @Test func nobodyPresentEscalatesAndStillAllocates() {
        var world = World()
        for person in ["m", "dep", "d1", "d2", "h"] { world.absent(person, from: t0 - days(1), to: t0 + days(5)) }
        world.refer("S-1", flags: ["risk_to_life"])
        let plan = world.cycle(at: t0)
        let a = plan.assignment("S-1")
        #expect(a != nil, "the allocation happens by policy")
        #expect(a?.accountable.manager == nil)
        #expect(a?.accountable.fallbackReason == "no_manager_available")
        #expect(
            plan.escalations == [
                EscalationDecision(referral: "S-1", reason: .noManagerAvailable, to: nil, position: 5, since: t0)
            ])
        // Logged once: the next cycle raises nothing new.
        #expect(world.cycle(at: t0 + hours(1)).escalations.isEmpty)
    }
}

@Suite struct OversightTests {
    @Test func ackOverdueClimbsTheChain() {
        var world = World()
        world.refer("S-1", flags: ["risk_to_life"])  // red, rank 3: needs an ack within 4h
        #expect(world.cycle(at: t0).assignment("S-1")?.accountable.manager == "m")
        #expect(world.cycle(at: t0 + hours(3)).escalations.isEmpty)
        #expect(world.cycle(at: t0 + hours(4)).escalations.map(\.to) == ["dep"])
        #expect(world.cycle(at: t0 + hours(5)).escalations.isEmpty, "raised once per position")
        world.absent("d1", from: t0, to: t0 + days(2))
        #expect(world.cycle(at: t0 + hours(8)).escalations.map(\.to) == ["d2"], "the next present person")
        #expect(world.cycle(at: t0 + hours(12)).escalations.map(\.to) == ["h"])
        #expect(world.cycle(at: t0 + hours(40)).escalations.isEmpty, "the head of service is the top")
    }

    @Test func acknowledgedAllocationsDoNotEscalate() {
        var world = World()
        let i = world.refer("S-1", flags: ["risk_to_life"])
        world.cycle(at: t0)
        world.snapshot.referrals[i].allocation?.acknowledged = t0 + hours(1)
        #expect(world.cycle(at: t0 + hours(9)).escalations.isEmpty)
    }

    @Test func lowerRanksNeedNoAck() {
        var world = World()
        world.refer("S-1", flags: ["deteriorating"])  // amber, rank 2
        world.cycle(at: t0)
        #expect(world.cycle(at: t0 + days(3)).escalations.isEmpty)
    }

    @Test func unallocatedOverdue() {
        // Nobody can take safeguarding work: every worker is away.
        var world = World()
        for w in ["a", "b", "c"] { world.absent(w, from: t0 - days(1), to: t0 + days(30)) }
        world.refer("S-1", flags: ["risk_to_life"], received: t0 - hours(2))  // red: escalate after 1d
        let first = world.cycle(at: t0)
        #expect(first.blocked("S-1")?.0 == .allAbsent)
        #expect(first.escalations.isEmpty)
        #expect(world.cycle(at: t0 + hours(22)).escalations.map(\.to) == ["m"])
        #expect(world.cycle(at: t0 + hours(46)).escalations.map(\.to) == ["dep"])
        let e = world.cycle(at: t0 + hours(70)).escalations
        #expect(e.map(\.reason) == [.unallocatedOverdue] && e.map(\.to) == ["d1"] && e.map(\.position) == [2])
    }

    @Test func reviewsDue() {
        var world = World()
        for w in ["a", "b", "c"] { world.absent(w, from: t0 - days(1), to: t0 + days(30)) }
        let i = world.refer("S-1", flags: ["deteriorating"], received: t0 - hours(2))  // amber: review every 2d
        #expect(world.cycle(at: t0).reviewsDue.isEmpty)
        let due = world.cycle(at: t0 + days(2)).reviewsDue
        #expect(due == [ReviewDue(referral: "S-1", due: t0 - hours(2) + days(2), manager: "m")])
        world.snapshot.referrals[i].lastReview = t0 + days(2)
        #expect(world.cycle(at: t0 + days(3)).reviewsDue.isEmpty)
    }
}

@Suite struct EligibilityTests {
    @Test func absenceLookaheadKeepsRedFromSomeoneLeaving() {
        var world = World()
        world.absent("a", from: t0 + days(1), to: t0 + days(10))  // leaving tomorrow
        world.absent("c", from: t0 - days(1), to: t0 + days(10))
        world.refer("S-1", flags: ["risk_to_life"], complexity: 2)  // red: look-ahead 3d
        world.refer("S-2", complexity: 2, received: t0 - hours(2))  // green: no look-ahead
        let plan = world.cycle(at: t0)
        #expect(plan.assignment("S-1")?.worker == "b")
        #expect(plan.assignment("S-1")?.candidates.first { $0.worker == "a" }?.excludedBy == .leavingSoon)
        #expect(plan.assignment("S-2")?.worker == "a")
    }

    @Test func asyeAndExperience() {
        var world = World()
        world.refer("S-4", complexity: 4)  // ASYE excluded (complexity > 3); c has experience 3 (4 <= 3 + 1)
        world.refer("S-5", complexity: 5, received: t0 - hours(2))  // only a (experience 5)
        let plan = world.cycle(at: t0)
        let s5 = plan.assignment("S-5")
        #expect(s5?.worker == "a")
        #expect(s5?.candidates.map(\.excludedBy) == [nil, .rule("ASYE"), .rule("EXP")])
        #expect(plan.assignment("S-4")?.worker == "c")
    }

    @Test func continuityWinsOverLoadWithinTheWeights() {
        var world = World()
        world.snapshot.lastWorker["P-7"] = "c"
        // a is the least loaded, but c worked with this person before: continuity 3 beats least_loaded 1.
        world.refer("S-1", complexity: 2, person: "P-7")
        let a = world.cycle(at: t0).assignment("S-1")
        #expect(a?.worker == "c")
        #expect(a?.parts == ScoreParts(continuity: 3, leastLoaded: 1, specialism: 0))
    }

    @Test func specialismAndTies() {
        var world = World()
        world.refer("S-1", flags: ["domestic_abuse"], complexity: 2)
        world.refer("S-2", complexity: 2, received: t0 - hours(2))
        let plan = world.cycle(at: t0)
        #expect(plan.assignment("S-1")?.worker == "a", "a holds the domestic_abuse skill")
        // S-2 comes first (received earlier): all tie on load, so the lowest worker id, a.
        #expect(plan.assignment("S-2")?.worker == "a")
        #expect(plan.assignments.map(\.referral) == ["S-2", "S-1"])
    }

    @Test func capacityIsInPoints() {
        var world = World()
        // Safeguarding is 3 points at complexity 3: a and c (capacity 12) take 4 each, b (9) takes 3. Red, so the
        // shipped headroom (3 points kept for top-rank work) is theirs to use.
        for n in 1...12 { world.refer("S-\(n)", flags: ["risk_to_life"], received: t0 - hours(Int64(20 - n))) }
        let plan = world.cycle(at: t0)
        let loads = Dictionary(grouping: plan.assignments, by: \.worker).mapValues { $0.reduce(0) { $0 + $1.points } }
        #expect(loads == ["a": 12, "b": 9, "c": 12])
        #expect(plan.assignments.count == 11)
        #expect(plan.blocked("S-12")?.0 == .noCapacity)
        #expect(plan.blocked("S-12")?.1.map { "\($0.0)=\($0.1)" } == ["capacity=3"])
        // Managers without capacity are not candidates.
        #expect(plan.assignment("S-1")?.candidates.map(\.worker) == ["a", "b", "c"])
        // Blocked is logged once per change of reason.
        #expect(world.cycle(at: t0 + hours(1)).decisions.isEmpty)
        world.absent("a", from: t0 + hours(2), to: t0 + days(9))
        world.absent("b", from: t0 + hours(2), to: t0 + days(9))
        world.absent("c", from: t0 + hours(2), to: t0 + days(9))
        #expect(world.cycle(at: t0 + hours(3)).blocked("S-12")?.0 == .allAbsent)
    }

    /// The shipped allocation policy keeps 3 points free on every worker for top-rank work on its risk: twelve
    /// green referrals of 3 points leave a and c at 9 of 12 and b at 6 of 9, and a red still finds room.
    @Test func headroomIsKeptForTopRankWork() {
        var world = World()
        for n in 1...12 { world.refer("S-\(n)", received: t0 - hours(Int64(20 - n))) }
        let plan = world.cycle(at: t0)
        let loads = Dictionary(grouping: plan.assignments, by: \.worker).mapValues { $0.reduce(0) { $0 + $1.points } }
        #expect(loads == ["a": 9, "b": 6, "c": 9])
        #expect(plan.blocked("S-9")?.0 == .noCapacity)
        world.refer("RED", flags: ["risk_to_life"], received: t0)
        #expect(world.cycle(at: t0 + hours(1)).assignment("RED") != nil)
    }
}

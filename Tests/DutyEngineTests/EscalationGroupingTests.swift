import DutyCore
import DutyPolicy
import Foundation
import Testing

@testable import DutyEngine

/// Escalation steps that never skip a present person, team capacity alerts that inhibit sends nobody can act
/// on, and one message per recipient (issue 15).
@Suite struct EscalationGroupingTests {
    /// All three caseworkers are away: nothing can be allocated. Greens (`escalate_unallocated` 28d) wait.
    func fullWorld() -> World {
        var w = World()
        for worker in ["a", "b", "c"] { w.absent(worker, from: t0 - days(400), to: t0 + days(400)) }
        return w
    }

    /// A red referred 4 days before the first cycle (the daemon was down): step 1 goes to the first present
    /// person in the chain (the team manager), not to the fourth; each later step waits a day (red's period).
    @Test func aLateCycleClimbsOneStepAtATime() {
        var w = fullWorld()
        w.refer("R", flags: ["risk_to_life"], received: t0 - days(4))
        var chain: [String?] = []
        for (k, at) in [t0, t0 + hours(1), t0 + days(1), t0 + days(2) + hours(1), t0 + days(3) + hours(2)].enumerated()
        {
            let plan = w.cycle(at: at)
            let steps = plan.escalations.filter { $0.referral == "R" && $0.reason == .unallocatedOverdue }
            #expect(steps.count <= 1, "cycle \(k): at most one step")
            chain += steps.map(\.to)
        }
        let expected = w.snapshot.roster.chain(forTeam: "sg").prefix(4).map { Optional($0) }
        #expect(chain == Array(expected), "\(chain)")
    }

    /// A team with overdue work and no room raises one `capacity.exceeded`; while it stands, below-top-rank
    /// `unallocated_overdue` escalations are logged but not sent, top-rank ones are listed by name; when room
    /// returns it recovers.
    @Test func aCapacityAlertInhibitsSendsBelowTheTopRank() throws {
        var w = fullWorld()
        w.refer("G1", received: t0 - days(60))
        w.refer("G2", received: t0 - days(61))
        w.refer("RED", flags: ["risk_to_life"], received: t0 - days(2))
        let plan = w.cycle(at: t0)
        #expect(plan.alerts.map(\.team) == ["sg"] && plan.alerts.allSatisfy(\.exceeded))
        let alert = try #require(plan.alerts.first)
        #expect(alert.freePoints == 0 && alert.waitingPoints > 0 && alert.posts >= 1)
        #expect(plan.escalations.contains { $0.referral == "G1" }, "the escalation is still an event")
        let digests = Digest.group(plan, snapshot: World.before(w, plan))
        let listed = digests.flatMap(\.listed).map(\.referral)
        #expect(listed.contains("RED") && !listed.contains("G1") && !listed.contains("G2"))
        #expect(digests.reduce(0) { $0 + $1.inhibited } >= 1)
        #expect(digests.contains { $0.alerts.map(\.team) == ["sg"] && $0.recipient == "m" })
        // The alert stands: not raised again.
        #expect(w.cycle(at: t0 + hours(1)).alerts.isEmpty)
        // Everyone is back: the waiting work is allocated and the alert recovers.
        w.snapshot.absences = []
        let back = w.cycle(at: t0 + days(1))
        #expect(back.alerts.map(\.exceeded) == [false])
    }

    /// One message per recipient per cycle, top-rank referrals always listed, the rest folded past the limit.
    @Test func oneDigestPerRecipientWithTopRankListed() {
        var w = fullWorld()
        for n in 0..<70 { w.refer("G\(n)", received: t0 - days(29)) }
        for n in 0..<60 { w.refer("R\(n)", flags: ["risk_to_life"], received: t0 - days(1) - hours(1)) }
        w.snapshot.capacityAlerts = []
        var plan = Engine.plan(w.snapshot, now: t0)
        plan.alerts = []  // no inhibition: show folding
        let digests = Digest.group(plan, snapshot: w.snapshot)
        #expect(Set(digests.map(\.recipient)).count == digests.count)
        let toManager = digests.first { $0.recipient == "m" }
        #expect(toManager?.count == 130)
        #expect(toManager?.listed.filter { $0.referral.hasPrefix("R") }.count == 60, "every red listed")
        #expect(toManager?.listed.count == 60, "the 50-name limit is taken by the reds alone")
        #expect(toManager?.folded.reduce(0) { $0 + $1.count } == 70)
    }
}

extension World {
    /// The snapshot a plan was made from, for `Digest.group` (the world has applied it since).
    static func before(_ w: World, _ plan: Plan) -> Snapshot {
        var s = w.snapshot
        s.capacityAlerts = []
        return s
    }
}

/// `why` on a referral blocked for room gives each full worker's load and capacity and the points it needs.
@Suite struct CapacityExplanationTests {
    @Test func capacityExclusionsCarryTheFigures() throws {
        var w = World()
        for n in 0..<5 { w.refer("R\(n)", flags: ["risk_to_life"], complexity: 5, received: t0 - hours(Int64(5 - n))) }
        w.cycle(at: t0)
        let waiting = try #require(w.snapshot.referrals.first { $0.allocation == nil }?.referral.id)
        let candidates = try #require(Engine.candidates(for: waiting, in: w.snapshot, now: t0 + hours(1)))
        let full = candidates.filter { $0.excludedBy == .capacity }
        #expect(!full.isEmpty)
        for c in full {
            let room = try #require(c.room)
            #expect(room.need == 6, "complexity 5 safeguarding: 3 points x 2")
            #expect(room.load + room.need > room.capacity)
            #expect(c.json["load"] != nil && c.json["points_needed"]?.doubleValue == 6)
        }
        #expect(candidates.filter { $0.excludedBy != .capacity }.allSatisfy { $0.room == nil })
    }
}

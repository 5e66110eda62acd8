import DutyCore
import Foundation
import Testing

@testable import DutySim

#if canImport(FoundationXML)
    import FoundationXML
#endif

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
let shippedScenario = repositoryRoot + "/policies/scenarios/banes-2023-24.json5"

@Suite struct SimulatorTests {
    @Test func sameSeedSameReportAndConservation() throws {
        let scenario = try Scenario.load(path: shippedScenario, days: 120)
        let a = try Simulator(scenario: scenario, seed: 7).run()
        let b = try Simulator(scenario: scenario, seed: 7).run()
        func strip(_ r: SimReport) -> String {
            "\(r.arrivals) \(r.closedAtEnd) \(r.openAllocatedAtEnd) \(r.waitingAtEnd) "
                + r.byKind.map { "\($0.key) \($0.allocated) \($0.waits) \($0.peakWaiting) \($0.fallbacks)" }.joined(
                    separator: ";")
                + "\(r.escalations)" + r.series.map { "\($0.0) \($0.1.sorted { $0.key < $1.key })" }.joined()
        }
        #expect(strip(a) == strip(b))
        let c = try Simulator(scenario: scenario, seed: 8).run()
        #expect(strip(a) != strip(c), "another seed, another run")
        // Nothing is lost: every arrival is done, in hand, or waiting.
        for r in [a, c] {
            #expect(r.arrivals == r.closedAtEnd + r.openAllocatedAtEnd + r.waitingAtEnd)
            #expect(r.arrivals == r.byKind.reduce(0) { $0 + $1.arrivals })
            #expect(r.byKind.reduce(0) { $0 + $1.allocated } == r.closedAtEnd + r.openAllocatedAtEnd)
        }
        #expect(a.arrivals > 1_800 && a.cycles > 80)
    }

    /// One worker, one referral every 2 days taking 3 days' work, a cycle every day: waits 0, 1, 2 days.
    @Test func aTinyScenarioWorkedOutByHand() throws {
        let dir = try tinyScenario()
        let report = try Simulator(scenario: try Scenario.load(path: dir + "/tiny.json5"), seed: 1).run()
        // Arrivals on days 2, 4, 6, 8. The worker takes day 2's at once (free on day 5), day 4's on day 5 (free on
        // day 8), day 6's on day 8; day 8's is still waiting when the ten days end.
        #expect(report.arrivals == 4)
        let g = try #require(report.byKind.first)
        #expect(g.waits == [0, 1, 2])
        #expect(g.percentile(0.5) == 1 && g.waits.max() == 2)
        #expect(report.waitingAtEnd == 1 && report.closedAtEnd == 2 && report.openAllocatedAtEnd == 1)
    }

    /// Councils side by side add up: every count is the sum of the councils run one by one, waits are pooled, the
    /// peak is a peak of the summed daily series (never more than the councils' peaks added), one council is
    /// exactly `run()`, and the same seed gives the same national report.
    @Test func councilsAddUp() throws {
        var scenario = try Scenario.load(path: shippedScenario, days: 40)
        scenario.councils = 3
        let total = try Simulator(scenario: scenario, seed: 5).runCouncils()
        let again = try Simulator(scenario: scenario, seed: 5).runCouncils()
        var one = scenario
        one.councils = 1
        let parts = try (0..<3).map { try Simulator(scenario: one, seed: Simulator.seed(council: $0, of: 5)).run() }
        #expect(total.councils == 3 && total.seed == 5)
        #expect(total.arrivals == parts.reduce(0) { $0 + $1.arrivals })
        #expect(total.waitingAtEnd == parts.reduce(0) { $0 + $1.waitingAtEnd })
        #expect(total.arrivals == total.closedAtEnd + total.openAllocatedAtEnd + total.waitingAtEnd)
        #expect(Set(parts.map(\.arrivals)).count > 1, "each council has its own arrivals")
        for g in total.byKind {
            let same = parts.compactMap { $0.byKind.first { $0.key == g.key } }
            #expect(g.allocated == same.reduce(0) { $0 + $1.allocated })
            #expect(g.waits == same.flatMap(\.waits).sorted())
            #expect(g.peakWaiting <= same.reduce(0) { $0 + $1.peakWaiting })
            #expect(g.peakWaiting >= same.map(\.peakWaiting).max() ?? 0)
        }
        #expect(
            total.byKind.map(\.waits) == again.byKind.map(\.waits) && "\(total.escalations)" == "\(again.escalations)")
        let single = try Simulator(scenario: one, seed: 5)
        #expect(single.runCouncils().byKind.map(\.waits) == single.run().byKind.map(\.waits))
    }

    /// staff_scale doubles the caseworkers (not the managers): the tiny scenario's second worker takes what the
    /// first cannot, so nobody waits.
    @Test func staffScaleCopiesCaseworkers() throws {
        let dir = try tinyScenario(extra: "staff_scale: 2,")
        let sim = try Simulator(scenario: try Scenario.load(path: dir + "/tiny.json5"), seed: 1)
        #expect(sim.roster.workers.map(\.id).sorted() == ["m", "w", "w.2"])
        let report = sim.run()
        #expect(report.byKind.first?.waits == [0, 0, 0, 0])
        #expect(report.waitingAtEnd == 0)
    }

    @Test func theEnglandScenarioIsTheNationalScale() throws {
        let england = try Scenario.load(path: repositoryRoot + "/policies/scenarios/england-2023-24.json5")
        #expect(england.councils == 153 && england.staffScale == 2)
        let perYear = england.kinds.reduce(0) { $0 + $1.1.perYear } * Double(england.councils)
        #expect(abs(perYear - 2_090_000) < 2_000, "\(perYear)")
    }

    /// One worker (one case at a time, 3 days each) takes reviews (green) arriving every 2 days from day 2 and OT
    /// referrals flagged unsafe_transfers (p1) every 3 days from day 3, for ten days from Monday 1 January 2024.
    /// Worked out by hand:
    /// - fcfs (order received, every day): R1 on day 2 (free day 5); O1 (day 3) before R2 (day 4) on day 5; R2 on
    ///   day 8 (free day 11): reviews wait 0 and 4, OT 2.
    /// - the policies (rank first): as fcfs to day 5; on day 8 O2 (p1, day 6) goes before R2 and R3: reviews 0, OT
    ///   2 and 2.
    /// - weekly (Mondays, order received): nothing on day 0; on day 7 R1, the first received: reviews 5.
    @Test func baselinesOnATinyScenarioWorkedOutByHand() throws {
        let dir = try tinyScenario()
        try FileManager.default.copyItem(
            atPath: repositoryRoot + "/policies/triage/ot.json5", toPath: dir + "/policies/triage/ot.json5")
        let roster = try String(contentsOfFile: dir + "/roster.json5", encoding: .utf8)
            .replacingOccurrences(of: "kinds: [\"review\"]", with: "kinds: [\"review\", \"ot\"]")
        try roster.write(toFile: dir + "/roster.json5", atomically: true, encoding: .utf8)
        let tiny = try String(contentsOfFile: dir + "/tiny.json5", encoding: .utf8)
            .replacingOccurrences(
                of: "arrivals: { review: { every: \"2d\", complexity: [0, 0, 1, 0, 0], work_days: 3 } }",
                with: """
                    arrivals: { review: { every: "2d", complexity: [0, 0, 1, 0, 0], work_days: 3 },
                                ot: { every: "3d", flags: { unsafe_transfers: 1 }, complexity: [0, 0, 1, 0, 0],
                                      work_days: 3 } }
                    """)
        try tiny.write(toFile: dir + "/tiny.json5", atomically: true, encoding: .utf8)
        var scenario = try Scenario.load(path: dir + "/tiny.json5")
        func waits(_ r: SimReport) -> [String: [Double]] {
            Dictionary(uniqueKeysWithValues: r.byKind.map { ($0.key, $0.waits) })
        }
        let duty = try Simulator(scenario: scenario, seed: 1).run()
        #expect(waits(duty) == ["review": [0], "ot": [2, 2]])
        scenario.baseline = .fcfs
        let fcfs = try Simulator(scenario: scenario, seed: 1).run()
        #expect(waits(fcfs) == ["review": [0, 4], "ot": [2]])
        #expect(fcfs.baseline == .fcfs)
        scenario.baseline = .weekly
        let weekly = try Simulator(scenario: scenario, seed: 1).run()
        #expect(waits(weekly) == ["review": [5], "ot": []])
        #expect(weekly.cycles == 2)
        // Scored by the level at referral: OT's p1 is never allocated within its day (O1 and O2 wait 2 days); O3,
        // referred on day 9, is due as the run ends, so it is not yet late.
        let p1 = try #require(duty.byKindLevel.first { $0.kind == "ot" && $0.level == "p1" })
        #expect(p1.arrivals == 3 && p1.allocated == 2 && p1.withinTimescale == 0 && p1.lateWaiting == 0)
        #expect(p1.withinTimescalePct == 0)
        let green = try #require(duty.byKindLevel.first { $0.kind == "review" && $0.level == "green" })
        #expect(green.arrivals == 4 && green.allocated == 1 && green.lateWaiting == 0)
        #expect(duty.longestWait == 6)  // R2, received day 4, still waiting when the run ends on day 10
    }

    /// The tiny scenario (one worker, capacity 1; a review every 2 days from day 2 taking 3 days) with three
    /// reviews waiting at the start: they count as backlog, not arrivals, and are not scored by level at referral
    /// (they were referred before the run); everyone is accounted for; ages are within the stated bounds.
    @Test func aStartingBacklogWaitsFromTheFirstCycle() throws {
        let dir = try tinyScenario(extra: "backlog: { review: { count: 3, median_age_days: 10, max_age_days: 20 } }")
        let scenario = try Scenario.load(path: dir + "/tiny.json5")
        let sim = try Simulator(scenario: scenario, seed: 7)
        let backlog = sim.arrivals().backlog
        #expect(backlog.count == 3 && backlog.allSatisfy { $0.id.hasPrefix("B") && $0.kind == "review" })
        for r in backlog {
            let age = scenario.start.timeIntervalSince(r.received) / 86_400
            #expect(age > 0 && age <= 20)
        }
        let r = sim.run()
        #expect(r.backlog == 3 && r.arrivals == 4)
        #expect(r.arrivals + r.backlog == r.closedAtEnd + r.openAllocatedAtEnd + r.waitingAtEnd)
        let review = try #require(r.byKind.first { $0.key == "review" })
        #expect(review.backlog == 3 && review.arrivals == 4)
        #expect(r.byKindLevel.reduce(0) { $0 + $1.arrivals } == 4, "backlog is not scored by level at referral")
        // One worker, one case at a time, 3 days each, over 10 days: 4 allocations (days 0, 3, 6, 9).
        #expect(review.allocated == 4)
        #expect(review.finalWaiting == 3 && review.agesWaiting.count == 3)
    }

    /// Load ratio and utilisation worked out by hand on the tiny scenario: 4 reviews x 1 point x 3 days offered
    /// against 1 point for 10 days is 1.2; the worker holds a case on 8 of the 10 daily samples (days 2-9).
    @Test func loadRatioAndUtilisationByHand() throws {
        let dir = try tinyScenario()
        let r = try Simulator(scenario: try Scenario.load(path: dir + "/tiny.json5"), seed: 1).run()
        let team = try #require(r.teams.first { $0.team == "t" })
        #expect(team.capacityPoints == 1)
        #expect(abs((team.loadRatio ?? 0) - 1.2) < 1e-9)
        #expect(abs((team.utilisationPct ?? 0) - 80) < 1e-9)
    }

    /// A worker on leave does not progress their cases: 3 days' work started on day 0 by someone away on days 1
    /// and 2 is done at the end of day 5; with nobody away, at the end of day 3.
    @Test func leaveStopsTheClockOnAWorkersCases() {
        let day0 = Date(timeIntervalSince1970: 1_704_067_200)
        func day(_ n: Double) -> Date { day0.addingTimeInterval(n * 86_400) }
        let away = AwayCalendar([Absence(id: "A", worker: "w", from: day(1), to: day(3), reason: "leave")])
        #expect(away.finish(worker: "w", start: day0, days: 3) == day(5))
        #expect(away.finish(worker: "x", start: day0, days: 3) == day(3))
        #expect(away.finish(worker: "w", start: day0, days: 0.5) == day(0.5))
    }

    /// Managers acknowledge: with `acknowledge_after` inside the policy's 4 hours nothing is escalated as
    /// unacknowledged; with "never", each allocation climbs the chain.
    @Test func managersAcknowledgeAfterTheScenariosDelay() throws {
        func run(_ after: String) throws -> SimReport {
            let dir = try tinyScenario(extra: "managers: { acknowledge_after: \"\(after)\" }")
            try """
            { points: { default: 1, complexity: { "1": 1, "2": 1, "3": 1, "4": 1, "5": 1 } }, prefer: { least_loaded: 1 },
              acknowledge: { min_rank: 1, within: "4h" } }
            """.write(toFile: dir + "/policies/allocation.json5", atomically: true, encoding: .utf8)
            return try Simulator(scenario: try Scenario.load(path: dir + "/tiny.json5"), seed: 1).run()
        }
        let prompt = try run("2h")
        let allocated = prompt.byKind.reduce(0) { $0 + $1.allocated }
        #expect(allocated == 3 && prompt.acknowledged == allocated)
        #expect(!prompt.escalations.contains { $0.0 == "ack_overdue" })
        let never = try run("never")
        #expect(never.acknowledged == 0 && (never.escalations.first { $0.0 == "ack_overdue" }?.1 ?? 0) > 0)
    }

    /// `target_days` counts allocations within the council's own target.
    @Test func withinTargetCountsAllocationsWithinTheTarget() throws {
        let dir = try tinyScenario()
        let tiny = try String(contentsOfFile: dir + "/tiny.json5", encoding: .utf8)
            .replacingOccurrences(of: "work_days: 3 }", with: "work_days: 3, target_days: 1 }")
        try tiny.write(toFile: dir + "/tiny.json5", atomically: true, encoding: .utf8)
        let r = try Simulator(scenario: try Scenario.load(path: dir + "/tiny.json5"), seed: 1).run()
        let review = try #require(r.byKind.first { $0.key == "review" })
        #expect(review.targetDays == 1)
        #expect(review.withinTarget == review.waits.filter { $0 <= 1 }.count && review.withinTarget >= 1)
    }

    @Test func badBacklogsAreRefused() throws {
        for (extra, message) in [
            (
                "backlog: { nope: { count: 1, median_age_days: 5 } }",
                "backlog of 'nope', which 'arrivals' does not name"
            ),
            ("backlog: { review: { count: 1, median_age_days: 0 } }", "0 < median_age_days <= max_age_days"),
            ("backlog: { review: { median_age_days: 3 } }", "count"),
        ] {
            let dir = try tinyScenario(extra: extra)
            #expect {
                try Scenario.load(path: dir + "/tiny.json5")
            } throws: { error in
                ((error as? DutyError)?.diagnostics ?? []).contains { $0.message.contains(message) }
            }
        }
    }

    /// One worker and a manager on the review policy; a referral every 2 days taking 3 days' work; ten days.
    func tinyScenario(extra: String = "") throws -> String {
        let dir = NSTemporaryDirectory() + "duty-sim-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/policies/triage", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: repositoryRoot + "/policies/triage/review.json5", toPath: dir + "/policies/triage/review.json5")
        try """
        { points: { default: 1, complexity: { "1": 1, "2": 1, "3": 1, "4": 1, "5": 1 } }, prefer: { least_loaded: 1 } }
        """.write(toFile: dir + "/policies/allocation.json5", atomically: true, encoding: .utf8)
        try """
        { services: [ { id: "s", name: "S", head: "m" } ],
          teams: [ { id: "t", name: "T", service: "s", manager: "m", kinds: ["review"] } ],
          workers: [ { id: "m", name: "M", team: "t", role: "team_manager" },
                     { id: "w", name: "W", team: "t", role: "review_officer", capacity: 1, experience: 5 } ] }
        """.write(toFile: dir + "/roster.json5", atomically: true, encoding: .utf8)
        try """
        { roster: "roster.json5", policies: "policies", start: "2024-01-01T00:00:00Z", days: 10, cycle: "1d",
          working_days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
          arrivals: { review: { every: "2d", complexity: [0, 0, 1, 0, 0], work_days: 3 } },
          absence: { leave_days_per_year: 0, sickness_per_day: 0 }, \(extra) }
        """.write(toFile: dir + "/tiny.json5", atomically: true, encoding: .utf8)
        return dir
    }
}

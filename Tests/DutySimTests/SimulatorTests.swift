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
          absence: { leave_days_per_year: 0, sickness_per_day: 0 } }
        """.write(toFile: dir + "/tiny.json5", atomically: true, encoding: .utf8)
        let report = try Simulator(scenario: try Scenario.load(path: dir + "/tiny.json5"), seed: 1).run()
        // Arrivals on days 2, 4, 6, 8. The worker takes day 2's at once (free on day 5), day 4's on day 5 (free on
        // day 8), day 6's on day 8; day 8's is still waiting when the ten days end.
        #expect(report.arrivals == 4)
        let g = try #require(report.byKind.first)
        #expect(g.waits == [0, 1, 2])
        #expect(g.percentile(0.5) == 1 && g.waits.max() == 2)
        #expect(report.waitingAtEnd == 1 && report.closedAtEnd == 2 && report.openAllocatedAtEnd == 1)
    }

    @Test func theChartIsWellFormedXML() throws {
        let report = try Simulator(scenario: try Scenario.load(path: shippedScenario, days: 30), seed: 1).run()
        let svg = Chart.svg(report, title: "a <test> & chart")
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(svg.contains("<polyline") && svg.contains("a &lt;test&gt; &amp; chart"))
    }
}

import DutyCore
import Foundation
import Testing

@testable import DutyPolicy

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The shipped policies with the example roster, loaded once.
let shipped: Deployment = Deployment.load(
    config: nil, policiesDir: repositoryRoot + "/policies", rosterPath: repositoryRoot + "/systemd/roster.json5")

struct Sample: CustomTestStringConvertible, Sendable {
    var kind: String
    var flags: [String] = []
    var facts: [String: FactValue] = [:]
    var complexity = 3
    var waitingDays: Int64 = 0
    var level: String
    var rules: [String]

    var testDescription: String { "\(kind) \(flags) \(facts) \(waitingDays)d -> \(level) \(rules)" }
}

@Suite struct ShippedPolicyTests {
    static let samples: [Sample] = [
        // Safeguarding (RAG)
        Sample(kind: "safeguarding", flags: ["risk_to_life"], level: "red", rules: ["SG-R1"]),
        Sample(
            kind: "safeguarding", flags: ["immediate_harm", "carer_strain"], level: "red", rules: ["SG-R1", "SG-A2"]),
        Sample(kind: "safeguarding", flags: ["neglect_in_progress"], level: "red", rules: ["SG-R2"]),
        Sample(kind: "safeguarding", flags: ["care_breakdown"], level: "red", rules: ["SG-R3"]),
        Sample(kind: "safeguarding", flags: ["discharge_blocked"], level: "red", rules: ["SG-R4"]),
        Sample(kind: "safeguarding", flags: ["deteriorating"], level: "amber", rules: ["SG-A1"]),
        Sample(kind: "safeguarding", flags: ["risk_managed"], level: "amber", rules: ["SG-A3"]),
        Sample(kind: "safeguarding", facts: ["concerns_12m": .number(3)], level: "amber", rules: ["SG-A4"]),
        Sample(kind: "safeguarding", facts: ["concerns_12m": .number(2)], level: "green", rules: []),
        Sample(kind: "safeguarding", flags: ["below_s42_threshold"], level: "green", rules: ["SG-G1"]),
        Sample(kind: "safeguarding", waitingDays: 5, level: "amber", rules: ["SG-AGE1"]),
        Sample(kind: "safeguarding", waitingDays: 11, level: "red", rules: ["SG-AGE1", "SG-AGE2"]),
        // DoLS (ADASS)
        Sample(kind: "dols", flags: ["urgent_authorisation"], level: "high", rules: ["DOLS-H1"]),
        Sample(kind: "dols", flags: ["objection", "restraint_regular"], level: "high", rules: ["DOLS-H2", "DOLS-H3"]),
        Sample(kind: "dols", flags: ["family_objects"], level: "high", rules: ["DOLS-H4"]),
        Sample(kind: "dols", flags: ["sedation_frequent"], level: "high", rules: ["DOLS-H5"]),
        Sample(kind: "dols", flags: ["contact_restricted"], level: "high", rules: ["DOLS-H6"]),
        Sample(kind: "dols", flags: ["safeguarding_linked"], level: "high", rules: ["DOLS-H7"]),
        Sample(kind: "dols", flags: ["court_challenge_likely"], level: "high", rules: ["DOLS-H8"]),
        Sample(kind: "dols", flags: ["covert_medication"], level: "high", rules: ["DOLS-H9"]),
        Sample(kind: "dols", flags: ["restraint_occasional"], level: "medium", rules: ["DOLS-M1"]),
        Sample(kind: "dols", flags: ["new_placement"], level: "medium", rules: ["DOLS-M2"]),
        Sample(kind: "dols", flags: ["less_restrictive_option"], level: "medium", rules: ["DOLS-M3"]),
        // Renewals: the current authorisation ends 20 days, 4 days, or 9 days ago (t0 is 2024-09-10).
        Sample(
            kind: "dols", flags: ["renewal"], facts: ["authorisation_expires": .string("2024-09-30")], level: "medium",
            rules: ["DOLS-M4"]),
        Sample(
            kind: "dols", flags: ["renewal"], facts: ["authorisation_expires": .string("2024-09-14")], level: "high",
            rules: ["DOLS-H10", "DOLS-M4"]),
        Sample(
            kind: "dols", flags: ["renewal"], facts: ["authorisation_expires": .string("2024-09-01")], level: "high",
            rules: ["DOLS-H10", "DOLS-M4"]),
        Sample(
            kind: "dols", flags: ["renewal"], facts: ["authorisation_expires": .string("2024-12-01")], level: "low",
            rules: []),
        Sample(kind: "dols", flags: ["renewal"], level: "low", rules: []),
        Sample(kind: "dols", flags: ["end_of_life"], level: "low", rules: ["DOLS-L1"]),
        Sample(kind: "dols", flags: ["end_of_life", "objection"], level: "high", rules: ["DOLS-H2", "DOLS-L1"]),
        Sample(kind: "dols", flags: ["renewal_no_change"], level: "low", rules: ["DOLS-L2"]),
        Sample(
            kind: "dols", flags: ["renewal_no_change"], waitingDays: 181, level: "medium",
            rules: ["DOLS-L2", "DOLS-AGE1"]),
        Sample(kind: "dols", waitingDays: 366, level: "high", rules: ["DOLS-AGE1", "DOLS-AGE2"]),
        // Care Act assessments (RAG)
        Sample(kind: "care_act_assessment", flags: ["no_care_in_place"], level: "red", rules: ["CA-R1"]),
        Sample(kind: "care_act_assessment", flags: ["carer_breakdown"], level: "red", rules: ["CA-R2"]),
        Sample(kind: "care_act_assessment", flags: ["hospital_discharge"], level: "red", rules: ["CA-R3"]),
        Sample(kind: "care_act_assessment", flags: ["deteriorating"], level: "amber", rules: ["CA-A1"]),
        Sample(kind: "care_act_assessment", flags: ["carer_strain"], level: "amber", rules: ["CA-A2"]),
        Sample(
            kind: "care_act_assessment", flags: ["lives_alone"], facts: ["age": .number(88)], level: "amber",
            rules: ["CA-A3"]),
        Sample(kind: "care_act_assessment", flags: ["lives_alone"], complexity: 4, level: "amber", rules: ["CA-A3"]),
        Sample(kind: "care_act_assessment", flags: ["lives_alone"], level: "green", rules: []),
        Sample(kind: "care_act_assessment", waitingDays: 29, level: "amber", rules: ["CA-AGE1"]),
        Sample(kind: "care_act_assessment", waitingDays: 43, level: "red", rules: ["CA-AGE1", "CA-AGE2"]),
        // Reviews (RAG)
        Sample(kind: "review", flags: ["safeguarding_concern"], level: "red", rules: ["RV-R1"]),
        Sample(kind: "review", flags: ["first_review"], level: "amber", rules: ["RV-A1"]),
        Sample(kind: "review", flags: ["needs_changed"], level: "amber", rules: ["RV-A2"]),
        Sample(kind: "review", flags: ["carer_strain"], level: "amber", rules: ["RV-A3"]),
        Sample(
            kind: "review", flags: ["annual_review"], facts: ["months_since_review": .number(14)], level: "amber",
            rules: ["RV-A4", "RV-G1"]),
        Sample(kind: "review", flags: ["annual_review"], level: "green", rules: ["RV-G1"]),
        Sample(kind: "review", flags: ["annual_review"], waitingDays: 85, level: "amber", rules: ["RV-G1", "RV-AGE1"]),
        Sample(kind: "review", waitingDays: 183, level: "red", rules: ["RV-AGE1", "RV-AGE2"]),
        // OT (P1-P3)
        Sample(kind: "ot", flags: ["unsafe_transfers"], level: "p1", rules: ["OT-P1A"]),
        Sample(kind: "ot", flags: ["hospital_discharge"], level: "p1", rules: ["OT-P1B"]),
        Sample(kind: "ot", flags: ["end_of_life"], level: "p1", rules: ["OT-P1C"]),
        Sample(kind: "ot", facts: ["falls_3m": .number(2)], level: "p2", rules: ["OT-P2A"]),
        Sample(kind: "ot", flags: ["carer_strain"], level: "p2", rules: ["OT-P2B"]),
        Sample(kind: "ot", flags: ["deteriorating"], level: "p2", rules: ["OT-P2C"]),
        Sample(kind: "ot", complexity: 1, level: "p3", rules: []),
        Sample(kind: "ot", waitingDays: 85, level: "p2", rules: ["OT-AGE1"]),
        // Financial assessments (RAG, 28-day target)
        Sample(kind: "financial_assessment", flags: ["financial_abuse_suspected"], level: "red", rules: ["FA-R1"]),
        Sample(kind: "financial_assessment", flags: ["placement_at_risk"], level: "red", rules: ["FA-R2"]),
        Sample(kind: "financial_assessment", flags: ["hospital_discharge"], level: "red", rules: ["FA-R3"]),
        Sample(kind: "financial_assessment", flags: ["hardship"], level: "amber", rules: ["FA-A1"]),
        Sample(kind: "financial_assessment", flags: ["property_disregard_ending"], level: "amber", rules: ["FA-A2"]),
        Sample(kind: "financial_assessment", waitingDays: 28, level: "green", rules: []),
        Sample(kind: "financial_assessment", waitingDays: 29, level: "amber", rules: ["FA-AGE1"]),
        Sample(kind: "financial_assessment", waitingDays: 57, level: "red", rules: ["FA-AGE1", "FA-AGE2"]),
    ]

    @Test func shippedSetIsValid() {
        #expect(!shipped.diagnostics.hasErrors, "\(shipped.diagnostics.map(\.description))")
        #expect(shipped.diagnostics.isEmpty, "\(shipped.diagnostics.map(\.description))")
        #expect(shipped.policies?.triage.count == 6)
    }

    @Test(arguments: samples)
    func rates(sample: Sample) throws {
        let policies = try #require(shipped.policies)
        let r = referral(kind: sample.kind, flags: sample.flags, facts: sample.facts, complexity: sample.complexity)
        let result = try #require(
            policies.triage(r, now: r.received.addingTimeInterval(Double(sample.waitingDays) * 86_400)))
        #expect(result.level.name == sample.level)
        #expect(result.rules.map(\.id) == sample.rules)
        #expect(result.byDefault == sample.rules.isEmpty)
        // No rule of these samples sets an earlier due from a date than its level's timescale, except a renewal
        // past or near its expiry (the expiry, at local midnight; the shipped zone here is UTC).
        let expiry = sample.facts["authorisation_expires"].flatMap {
            if case .string(let s) = $0 { ISOTime.parse(s, timeZone: .utc) } else { nil }
        }
        let levelDue = r.received.addingTimeInterval(result.level.allocateWithin.timeInterval)
        #expect(result.due == min(levelDue, result.rules.isEmpty ? levelDue : expiry ?? levelDue))
    }

    @Test func everyRuleIsExercisedAndExplained() throws {
        let policies = try #require(shipped.policies)
        let covered = Set(Self.samples.flatMap(\.rules))
        for policy in policies.triage {
            for rule in policy.rules {
                #expect(covered.contains(rule.id), "no sample for \(rule.id)")
                #expect(rule.because.count >= 15, "\(rule.id) needs a reason a manager understands")
            }
            // Low priority must still move: each policy raises long waits.
            #expect(
                policy.rules.contains { $0.condition.source.contains("waiting >") }, "\(policy.id) has no aging rule")
        }
    }

    @Test func shippedAllocationPolicy() throws {
        let a = try #require(shipped.policies?.allocation)
        #expect(a.eligible.map(\.id) == ["ASYE", "EXP", "BIA", "OT-AIDE"])
        #expect(a.points(kind: "safeguarding", complexity: 5) == 6)
        #expect(a.points(kind: "unknown", complexity: 3) == 1)
        #expect(a.acknowledgeMinRank == 3 && a.acknowledgeWithin == .hours(4))
        #expect(a.escalateUnallocated[3] == .days(1))
        #expect(a.absenceLookahead[3] == .days(3))
        let aide = WorkerView(
            worker: Worker(id: "w-520", name: "n", team: "ot", role: "ot_aide", capacity: 24, experience: 2), load: 0)
        let rule = a.eligible.first { $0.id == "OT-AIDE" }!
        #expect(
            rule.condition.evaluate(RuleContext(referral: referral(kind: "ot", complexity: 2), now: t0, worker: aide)))
        #expect(
            !rule.condition.evaluate(RuleContext(referral: referral(kind: "ot", complexity: 3), now: t0, worker: aide)))
    }
}

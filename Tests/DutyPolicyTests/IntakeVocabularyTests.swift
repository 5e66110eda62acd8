import DutyCore
import Foundation
import Testing

@testable import DutyPolicy

/// What intake accepts, derived from the policies: the flag vocabulary, the facts' types, and skills that cannot
/// match (issue 14).
@Suite struct IntakeVocabularyTests {
    static let triage = """
        { id: "p", version: "1", applies_to: "kind == 'dols'",
          levels: [ { name: "high", rank: 3, allocate_within: "1d" }, { name: "low", rank: 1, allocate_within: "9d" } ],
          rules: [
            { id: "H1", level: "high", when: "facts.lives_alone and facts.age >= 85", because: "alone and old" },
            { id: "H2", level: "high", when: "'objection' in flags or facts.tenure == 'council'", because: "b" },
          ],
          otherwise: "low", flags: ["renewal_note"] }
        """
    static let roster = """
        {
          services: [ { id: "s", name: "S", head: "m1" } ],
          teams: [ { id: "t1", name: "T1", service: "s", manager: "m1", kinds: ["dols"] } ],
          workers: [ { id: "m1", name: "M", team: "t1", role: "head_of_service" },
                     { id: "w1", name: "W", team: "t1", role: "bia", skills: ["bia", "Welsh"] },
                     { id: "w2", name: "V", team: "t1", role: "bia", skills: ["BIA"] } ],
        }
        """

    func policies(allocation: String = "{}") throws -> (PolicySet, [Diagnostic]) {
        let f = try PolicyFixture(triage: ["p.json5": Self.triage], allocation: allocation, roster: Self.roster)
        let d = f.load()
        return (try #require(d.policies, "\(d.diagnostics)"), d.diagnostics)
    }

    @Test func factUsesAndFlagsComeFromTheRules() throws {
        let (set, _) = try policies()
        let rules = set.triage[0].rules
        #expect(rules[0].condition.factUses == ["lives_alone": .bool, "age": .number])
        #expect(rules[1].condition.factUses == ["tenure": .string])
        #expect(set.triage[0].flagVocabulary == ["objection", "renewal_note"])
        let decoder = set.intakeDecoder(timeZone: TimeZone(identifier: "UTC")!, roster: nil, now: nil)
        #expect(decoder.flagVocabulary["dols"] == ["objection", "renewal_note"])
        #expect(decoder.factTypes["dols"] == ["lives_alone": .bool, "age": .number, "tenure": .string])
    }

    /// The spreadsheet row that was silently green: `TRUE` and ` 86 ` are a boolean and a number, so H1 matches.
    @Test func spreadsheetCellsMeetTheirRules() throws {
        let (set, _) = try policies()
        let reader = SpoolReader(
            decoder: set.intakeDecoder(timeZone: TimeZone(identifier: "UTC")!, roster: nil, now: nil))
        let csv = """
            id,person,kind,received,flags,fact.lives_alone,fact.age,fact.tenure
            D-1,P-1,dols,2024-09-02,,TRUE, 86 ,council
            D-2,P-2,dols,2024-09-02,renewal_note,True,86,0042
            D-3,P-3,dols,2024-09-02,,yes,86,x
            D-4,P-4,dols,2024-09-02,objecting,false,old,x

            """
        var results: [(RecordLocation, RecordResult)] = []
        var given = false
        try reader.read(
            format: .csv,
            next: {
                defer { given = true }
                return given ? nil : Array(csv.utf8)
            }, record: { results.append(($0, $1)) })
        guard case .valid(let d1) = results[0].1, case .valid(let d2) = results[1].1 else {
            Issue.record("D-1 and D-2 should be valid: \(results)")
            return
        }
        #expect(d1.facts == ["lives_alone": .bool(true), "age": .number(86), "tenure": .string("council")])
        #expect(d2.facts["tenure"] == .string("0042"), "a fact compared as a string stays as written")
        #expect(set.triage(d1, now: d1.received)?.level.name == "high")
        guard case .invalid(let e3) = results[2].1, case .invalid(let e4) = results[3].1 else {
            Issue.record("D-3 and D-4 should be refused")
            return
        }
        #expect(
            e3.map(\.description) == ["facts.lives_alone: the policies use it as true or false, not the text 'yes'"])
        #expect(
            e4.map(\.description) == [
                "flags: unknown flag 'objecting': no rule for dols reads it; did you mean 'objection'? (a flag that is only informational can be declared in the policy's 'flags')",
                "facts.age: the policies use it as a number, not the text 'old'",
            ])
    }

    @Test func skillsThatCannotMatchAreWarnings() throws {
        let (_, diagnostics) = try policies(
            allocation: #"{ eligible: [ { id: "MH", when: "'mental_health' in worker.skills", because: "b" } ] }"#)
        let warnings = diagnostics.filter { $0.severity == .warning }.map(\.message)
        #expect(
            warnings.contains(
                "skills 'BIA' and 'bia' differ only in case: a referral or rule naming one does not match the others"))
        #expect(
            warnings.contains {
                $0.hasPrefix("rule 'MH' tests skill 'mental_health', which no worker in the roster holds")
            })
    }

    @Test func declaredFlagsMustBeWellFormed() throws {
        let bad = Self.triage.replacingOccurrences(of: #"flags: ["renewal_note"]"#, with: #"flags: ["Renewal Note"]"#)
        let f = try PolicyFixture(triage: ["p.json5": bad], roster: Self.roster)
        #expect(f.messages().contains { $0.contains("flag 'Renewal Note' must be lower-case letters, digits and _") })
    }
}

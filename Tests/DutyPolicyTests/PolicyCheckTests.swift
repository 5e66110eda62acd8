import DutyCore
import Foundation
import Testing

@testable import DutyPolicy

/// A temporary policies folder and roster, removed when the test ends.
final class PolicyFixture {
    let dir: String

    init(triage: [String: String], allocation: String = "{}", roster: String = PolicyFixture.roster) throws {
        dir = NSTemporaryDirectory() + "duty-policy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/policies/triage", withIntermediateDirectories: true)
        for (name, text) in triage {
            try text.write(toFile: dir + "/policies/triage/" + name, atomically: true, encoding: .utf8)
        }
        try allocation.write(toFile: dir + "/policies/allocation.json5", atomically: true, encoding: .utf8)
        try roster.write(toFile: dir + "/roster.json5", atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func load() -> Deployment {
        Deployment.load(config: nil, policiesDir: dir + "/policies", rosterPath: dir + "/roster.json5")
    }

    /// Diagnostics with the temp folder replaced by `$`, for golden comparisons.
    func messages() -> [String] {
        load().diagnostics.sortedForDisplay().map { $0.description.replacingOccurrences(of: dir, with: "$") }
    }

    static let roster = """
        {
          services: [ { id: "s", name: "S", head: "m1" } ],
          teams: [
            { id: "t1", name: "T1", service: "s", manager: "m1", kinds: ["dols", "ot"] },
          ],
          workers: [ { id: "m1", name: "M", team: "t1", role: "head_of_service" } ],
        }
        """

    static func policy(id: String, appliesTo: String, rules: String = "", extraLevel: String = "") -> String {
        """
        {
          id: "\(id)", version: "1", title: "t",
          applies_to: "\(appliesTo)",
          levels: [
            { name: "high", rank: 3, allocate_within: "7d" },\(extraLevel)
            { name: "low", rank: 1, allocate_within: "90d" },
          ],
          rules: [
        \(rules)
          ],
          otherwise: "low",
        }
        """
    }
}

@Suite struct PolicyCheckTests {
    let both = "kind == 'dols' or kind == 'ot'"

    @Test func acceptsAMinimalSet() throws {
        let f = try PolicyFixture(triage: ["a.json5": PolicyFixture.policy(id: "a", appliesTo: both)])
        #expect(f.messages() == [])
        #expect(f.load().policies?.policyForKind == ["dols": 0, "ot": 0])
    }

    @Test func overlappingPolicies() throws {
        let f = try PolicyFixture(triage: [
            "a.json5": PolicyFixture.policy(id: "a", appliesTo: both),
            "b.json5": PolicyFixture.policy(id: "b", appliesTo: "kind == 'ot'"),
        ])
        #expect(
            f.messages() == [
                "$/policies/triage/b.json5:3:15: more than one triage policy applies to kind 'ot': a ($/policies/triage/a.json5), b ($/policies/triage/b.json5); exactly one must"
            ])
    }

    @Test func missingPolicyForAKind() throws {
        let f = try PolicyFixture(triage: ["a.json5": PolicyFixture.policy(id: "a", appliesTo: "kind == 'dols'")])
        #expect(
            f.messages() == [
                "$/roster.json5:4:74: no triage policy applies to kind 'ot' (handled by team 't1'): add one to $/policies/triage"
            ])
    }

    @Test func policyForNoKindIsAWarning() throws {
        let f = try PolicyFixture(triage: [
            "a.json5": PolicyFixture.policy(id: "a", appliesTo: both),
            "z.json5": PolicyFixture.policy(id: "z", appliesTo: "kind == 'transitions'"),
        ])
        #expect(
            f.messages() == [
                "$/policies/triage/z.json5:3:15: warning: policy 'z' applies to no kind the roster names (dols, ot)"
            ])
        #expect(f.load().isValid)
    }

    @Test func unknownLevelDuplicateRuleUnknownNameBadDuration() throws {
        let rules = """
                { id: "R1", level: "hgh", when: "true", because: "reason one" },
                { id: "R2", level: "high", when: "'x' in flgs", because: "reason two" },
                { id: "R2", level: "high", when: "waiting > 7dd", because: "reason three" },
                { id: "R4", level: "high", when: "(waiting > 7d", because: "reason four" },
            """
        let f = try PolicyFixture(triage: [
            "a.json5": PolicyFixture.policy(
                id: "a", appliesTo: both, rules: rules,
                extraLevel: "\n    { name: \"mid\", rank: 2, allocate_within: \"2 weeks\" },")
        ])
        #expect(
            f.messages() == [
                "$/policies/triage/a.json5:6:46: 'allocate_within' in a level: invalid duration '2 weeks': write an integer and a unit s, m, h, d or w, like \"4h\" or \"28d\"",
                "$/policies/triage/a.json5:10:24: unknown level 'hgh'; did you mean 'high'?",
                "$/policies/triage/a.json5:11:46: unknown name 'flgs'; did you mean 'flags'?",
                "$/policies/triage/a.json5:12:11: duplicate rule id 'R2' (first at line 11)",
                "$/policies/triage/a.json5:12:50: invalid duration '7dd': the unit must be one of s, m, h, d, w",
                "$/policies/triage/a.json5:13:52: expected ')' after '7d'",
            ])
    }

    @Test func levelsMustBeWellFormed() throws {
        let text = """
            { id: "a", version: "1", applies_to: "kind == 'dols' or kind == 'ot'",
              levels: [
                { name: "low", rank: 1, allocate_within: "90d" },
                { name: "high", rank: 3, allocate_within: "7d" },
                { name: "top", rank: 3, allocate_within: "1d" },
                { name: "low", rank: 4, allocate_within: "1d", colour: "red" },
              ],
              rules: [], otherwise: "lowest" }
            """
        let f = try PolicyFixture(triage: ["a.json5": text])
        #expect(
            f.messages() == [
                "$/policies/triage/a.json5:4:27: levels must be listed highest rank first: 'high' (rank 3) comes after 'low' (rank 1)",
                "$/policies/triage/a.json5:5:26: level 'top' has the same rank 3 as 'high'",
                "$/policies/triage/a.json5:6:13: duplicate level 'low'",
                "$/policies/triage/a.json5:6:52: unknown key 'colour' in a level",
                "$/policies/triage/a.json5:8:25: unknown level 'lowest'; the levels are low, high, top",
            ])
    }

    @Test func allocationPolicyNamesOnlyKnownRanks() throws {
        let allocation = """
            {
              eligible: [ { id: "E", when: "worker.load < worker.capacity and complexity <= worker.experiance", because: "x" } ],
              prefer: { continuity: 1, least_loaded: -1, specialty: 1 },
              absence_lookahead: { "3": "3d", "2": "1d", high: "2d" },
              acknowledge: { min_rank: 5, within: "4h" },
              escalate_unallocated: { "1": "28 days" },
              points: { kinds: { dols: 2, transitions: 1 }, complexity: { "6": 3 } },
            }
            """
        let f = try PolicyFixture(
            triage: ["a.json5": PolicyFixture.policy(id: "a", appliesTo: both)], allocation: allocation)
        #expect(
            f.messages() == [
                "$/policies/allocation.json5:2:81: unknown name 'worker.experiance'; did you mean 'worker.experience'?",
                "$/policies/allocation.json5:3:42: 'least_loaded' weight must not be negative",
                "$/policies/allocation.json5:3:46: unknown key 'specialty' in 'prefer'; did you mean 'specialism'?",
                "$/policies/allocation.json5:4:35: 'absence_lookahead': '2' is not a rank or level of any triage policy (ranks: 1, 3)",
                "$/policies/allocation.json5:4:46: rank 3 appears twice in 'absence_lookahead'",
                "$/policies/allocation.json5:5:28: 'acknowledge.min_rank': '5' is not a rank or level of any triage policy (ranks: 1, 3)",
                "$/policies/allocation.json5:6:32: 'escalate_unallocated.1': invalid duration '28 days': write an integer and a unit s, m, h, d or w, like \"4h\" or \"28d\"",
                "$/policies/allocation.json5:7:31: warning: points for kind 'transitions', which no team handles",
                "$/policies/allocation.json5:7:63: complexity keys are \"1\" to \"5\", not '6'",
            ])
    }

    /// Entries of the wrong shape are each reported where they are, and loading goes on past them.
    @Test func malformedEntriesAreReported() throws {
        let allocation = """
            {
              eligible: [ "worker.load < 3", { id: "E", when: "kind == \\"dols", because: "x" } ],
              prefer: { continuity: 1 },
              acknowledge: { min_rank: true, within: "4h" },
              points: { default: -1, kinds: { dols: -2, ot: "two" }, complexity: { "2": -1, "3": "x" } },
            }
            """
        let triage = """
            { id: "a", version: "1", applies_to: "kind == 'dols' or kind == 'ot'",
              levels: [ { name: "high", rank: 3, allocate_within: "7d" }, 7, { rank: 2, allocate_within: "1d" },
                        { name: "low", rank: 1, allocate_within: "90d" } ],
              rules: [ "x", { id: "R", level: "high", when: "complexity > 1.", because: "b" } ], otherwise: "low" }
            """
        let f = try PolicyFixture(triage: ["a.json5": triage], allocation: allocation)
        #expect(
            f.messages() == [
                "$/policies/allocation.json5:2:15: an eligibility rule must be an object, not a string",
                "$/policies/allocation.json5:2:60: unterminated string: add the closing \"",
                "$/policies/allocation.json5:4:28: 'min_rank' must be a rank number or a level name",
                "$/policies/allocation.json5:5:22: points must not be negative",
                "$/policies/allocation.json5:5:41: points must not be negative",
                "$/policies/allocation.json5:5:49: 'ot' in 'points.kinds' must be a finite number, not a string",
                "$/policies/allocation.json5:5:77: a complexity factor must not be negative",
                "$/policies/allocation.json5:5:86: '3' in 'points.complexity' must be a finite number, not a string",
                "$/policies/triage/a.json5:2:63: a level must be an object, not a number",
                "$/policies/triage/a.json5:2:66: a level is missing required key 'name'",
                "$/policies/triage/a.json5:4:12: a rule must be an object, not a string",
            ])
    }

    /// Two policies that give one level name two ranks make the name useless in the allocation policy.
    @Test func aLevelNameWithTwoRanks() throws {
        let other = PolicyFixture.policy(id: "b", appliesTo: "kind == 'ot'").replacingOccurrences(
            of: "rank: 3", with: "rank: 4")
        let f = try PolicyFixture(
            triage: ["a.json5": PolicyFixture.policy(id: "a", appliesTo: "kind == 'dols'"), "b.json5": other],
            allocation: "{ acknowledge: { min_rank: \"high\", within: \"4h\" } }")
        #expect(
            f.messages() == [
                "$/policies/allocation.json5:1:28: 'acknowledge.min_rank': level 'high' has different ranks in different policies: use a rank number"
            ])
    }

    @Test func rosterErrorsAreReportedToo() throws {
        let roster = """
            { services: [ { id: "s", name: "S", head: "nobody" } ],
              teams: [ { id: "t1", name: "T1", service: "s", kinds: ["dols", "ot"] } ],
              workers: [] }
            """
        let f = try PolicyFixture(triage: ["a.json5": PolicyFixture.policy(id: "a", appliesTo: both)], roster: roster)
        #expect(
            f.messages() == [
                "$/roster.json5:1:43: head of service 's': unknown worker 'nobody'",
                "$/roster.json5:2:12: warning: team 't1' has no manager or deputies: its allocations fall to the service",
            ])
    }

    @Test func unparseableFileIsOneDiagnostic() throws {
        let f = try PolicyFixture(triage: [
            "a.json5": PolicyFixture.policy(id: "a", appliesTo: both), "b.json5": "{ id: 'b', levels: [ }",
        ])
        #expect(f.messages() == ["$/policies/triage/b.json5:1:22: unexpected '}': expected a value"])
    }
}

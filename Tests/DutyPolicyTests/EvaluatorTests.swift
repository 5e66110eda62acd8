import DutyCore
import Foundation
import Testing

@testable import DutyPolicy

let t0 = Date(timeIntervalSince1970: 1_725_960_600)  // 2024-09-10T09:30:00Z

func referral(
    kind: String = "dols", flags: [String] = [], facts: [String: FactValue] = [:], complexity: Int = 3,
    skills: [String] = [], team: String? = "dols"
) -> Referral {
    Referral(
        id: "R-1", person: "P-1", kind: kind, team: team, received: t0, flags: flags, facts: facts,
        complexity: complexity, skills: skills)
}

func holds(
    _ source: String, _ r: Referral = referral(), waiting: Duration = .days(0), worker: WorkerView? = nil,
    scope: RuleScope = .allocation
) throws -> Bool {
    let c = try Condition(source, scope: scope)
    return c.evaluate(
        RuleContext(referral: r, now: r.received.addingTimeInterval(waiting.timeInterval), worker: worker))
}

@Suite struct EvaluatorTests {
    @Test func comparesNumbersStringsAndBooleans() throws {
        #expect(try holds("complexity == 3"))
        #expect(
            try holds("complexity != 4 and complexity >= 3 and complexity <= 3 and complexity > 2 and complexity < 4"))
        #expect(try holds("kind == 'dols'"))
        #expect(try holds("kind < 'ot'"))
        #expect(try !holds("kind == \"ot\""))
        #expect(try holds("true == true and false != true"))
        #expect(try holds("not false"))
        #expect(try holds("1 + 2 * 3 == 7"))
        #expect(try holds("(1 + 2) * 3 == 9"))
        #expect(try holds("10 / 4 == 2.5 and 5 - 7 == -2"))
    }

    @Test func membership() throws {
        let r = referral(flags: ["objection", "restraint_regular"], skills: ["bia"])
        #expect(try holds("'objection' in flags", r))
        #expect(try !holds("'covert_medication' in flags", r))
        #expect(try holds("'covert_medication' not in flags", r))
        #expect(try holds("kind in ['dols', 'ot']", r))
        #expect(try !holds("kind in []", r))
        #expect(try holds("complexity in [1, 2, 3]", r))
        #expect(try holds("'bia' in skills", r))
    }

    @Test func durationsCompareWithWaiting() throws {
        #expect(try holds("waiting > 7d", waiting: .days(8)))
        #expect(try !holds("waiting > 7d", waiting: .days(7)))
        #expect(try holds("waiting >= 1w", waiting: .days(7)))
        #expect(try holds("waiting < 36h", waiting: .hours(35)))
        #expect(try holds("waiting > 2d + 12h", waiting: .hours(61)))
        #expect(try holds("waiting >= 2 * 1w", waiting: .days(14)))
    }

    @Test func missingFactsCompareFalse() throws {
        let r = referral(facts: ["age": .number(88), "setting": .string("care_home"), "settled": .bool(false)])
        #expect(try holds("facts.age >= 85", r))
        #expect(try holds("facts.setting == 'care_home'", r))
        #expect(try holds("facts.settled == false", r))
        // A comparison with a missing fact is false, whichever way round and whatever the operator.
        for op in ["==", "!=", "<", "<=", ">", ">="] {
            #expect(try !holds("facts.missing \(op) 1", r), "\(op)")
            #expect(try !holds("1 \(op) facts.missing", r), "\(op)")
        }
        #expect(try !holds("facts.missing in ['a']", r))
        #expect(try !holds("facts.missing + 1 > 0", r))
        // ...so its negation is true.
        #expect(try holds("not (facts.missing == 1)", r))
        // A bare fact counts only when it is the boolean true.
        #expect(try !holds("facts.missing", r))
        #expect(try !holds("facts.settled", r))
        #expect(try !holds("facts.age", r))
        // Type mismatches at run time compare false too.
        #expect(try !holds("facts.setting > 3", r))
        #expect(try !holds("facts.age == 'x'", r))
    }

    @Test func workerNames() throws {
        let w = Worker(
            id: "w-1", name: "N", team: "dols", role: "bia", skills: ["bia"], capacity: 16, experience: 2, asye: true)
        let view = WorkerView(worker: w, load: 5)
        let r = referral(complexity: 4)
        #expect(try !holds("not worker.asye or complexity <= 3", r, worker: view))
        #expect(try !holds("complexity <= worker.experience + 1", r, worker: view))
        #expect(try holds("'bia' in worker.skills and worker.role == 'bia' and worker.id == 'w-1'", r, worker: view))
        #expect(try holds("worker.load + 4 <= worker.capacity", r, worker: view))
    }

    @Test(arguments: [
        ("complexity", RuleScope.triage, 0, "a condition must be true or false, but this is a number"),
        ("waiting > 7", .triage, 8, "cannot compare a duration with a number: write a duration with a unit, like 7d"),
        ("kind == 3", .triage, 5, "cannot compare a string with a number"),
        ("flags == 'a'", .triage, 0, "cannot compare a list with '==': use 'in'"),
        ("'a' in kind", .triage, 7, "'in' needs a list on the right, not a string"),
        ("3 in flags", .triage, 2, "'in' compares a number with a list of strings: the types must match"),
        ("true < false", .triage, 5, "'<' cannot order booleans: use '==' or '!='"),
        ("complexity and true", .triage, 0, "'and' needs true or false, but this is a number"),
        ("not kind", .triage, 4, "'not' needs true or false, but this is a string"),
        ("kind + 1 == 2", .triage, 5, "cannot use '+' on a string and a number"),
        ("flgs == 1", .triage, 0, "unknown name 'flgs'; did you mean 'flags'?"),
        ("worker.load > 1", .triage, 0, "'worker.load' is only available in the allocation policy"),
        ("worker.lod > 1", .allocation, 0, "unknown name 'worker.lod'; did you mean 'worker.load'?"),
        ("flags == []", .triage, 0, "cannot compare a list with '==': use 'in'"),
        ("person == 'x'", .appliesTo, 0, "applies_to may use only 'kind' and 'team', not 'person'"),
        ("kind in ['a', 1]", .triage, 14, "a list must hold values of one type: a string and a number are mixed"),
    ])
    func typeErrorsAreFoundAtLoad(source: String, scope: RuleScope, offset: Int, message: String) {
        #expect(throws: RuleError(offset: offset, message: message)) { try Condition(source, scope: scope) }
    }

    @Test func reportsFactsUsed() throws {
        let c = try Condition("facts.age > 80 and (facts.lives_alone == true or 'x' in flags)", scope: .triage)
        #expect(c.facts == ["age", "lives_alone"])
    }
}

@Suite struct DynamicEvaluationTests {
    let r = referral(
        facts: ["n": .number(3), "m": .number(2), "s": .string("care_home"), "yes": .bool(true), "no": .bool(false)],
        team: nil)

    @Test(arguments: [
        ("facts.n + 1 == 4", true), ("facts.n - facts.m == 1", true), ("facts.n * 2 == 6", true),
        ("facts.n / 2 == 1.5", true),
        ("-facts.n == -3", true), ("-facts.s == 1", false), ("facts.n + facts.s == 1", false),
        ("waiting >= facts.m * 1d", true), ("waiting < facts.n * 1d", true), ("waiting >= 1d * facts.m", true),
        ("waiting >= 4d / facts.m", true), ("facts.missing * 1d < waiting", false),
        ("facts.yes == true", true), ("facts.no != true", true), ("facts.yes < 1", false),
        ("facts.s in ['care_home', 'hospital']", true), ("facts.s not in ['hospital']", true),
        ("'x' in facts.s", false),
        ("facts.n in [1, 2, 3]", true), ("facts.s >= 'b'", true), ("facts.n == facts.m + 1", true),
        ("team == 'dols'", false), ("team != 'dols'", false), ("kind >= 'd' and kind <= 'e'", true),
        ("worker.asye == false", true), ("worker.load == 0 and worker.capacity == 0", true),
        ("'x' in worker.skills", false),
        ("worker.id == 'w'", false), ("not worker.asye", true), ("facts.yes and not facts.no", true),
        ("complexity * 2 > 5 and -complexity < 0", true), ("waiting + 1d > 3d - 1d", true),
        ("waiting - 1d <= 1d", true),
        ("1 < complexity", true), ("'a' < 'b'", true), ("1d == 24h", true), ("1.5 != 2", true),
    ])
    func evaluates(source: String, expected: Bool) throws {
        #expect(try holds(source, r, waiting: .days(2)) == expected, "\(source)")
    }

    @Test func unknownNamesInContext() {
        #expect(throws: RuleError.self) { try Condition("facts", scope: .triage) }
        #expect(throws: RuleError.self) { try Condition("facts.1x == 1", scope: .triage) }
        #expect(throws: RuleError.self) { try Condition("worker.id == 'x'", scope: .appliesTo) }
        #expect(throws: RuleError.self) { try Condition("'a' - 1 == 1", scope: .triage) }
        #expect(throws: RuleError.self) { try Condition("-'a' == 1", scope: .triage) }
        #expect(throws: RuleError.self) { try Condition("[1] in flags", scope: .triage) }
    }
}

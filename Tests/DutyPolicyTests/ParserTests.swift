import Testing

@testable import DutyPolicy

@Suite struct ParserTests {
    @Test(arguments: [
        // or is loosest, then and, then not.
        ("a or b and c", "(a or (b and c))"),
        ("a and b or c", "((a and b) or c)"),
        ("a or b or c", "((a or b) or c)"),
        ("a and b and c", "((a and b) and c)"),
        ("not a and b", "((not a) and b)"),
        ("not not a", "(not (not a))"),
        // not is looser than comparisons: not applies to the whole comparison.
        ("not complexity > 3", "(not (complexity > 3))"),
        // comparisons are looser than in.
        ("'x' in flags == true", "(('x' in flags) == true)"),
        ("'x' not in flags", "('x' not in flags)"),
        ("not 'x' in flags", "(not ('x' in flags))"),
        // arithmetic binds tighter than comparison and in; * before +; left-associative.
        ("complexity <= worker.experience + 1", "(complexity <= (worker.experience + 1))"),
        ("a - b - c", "((a - b) - c)"),
        ("a + b * c", "(a + (b * c))"),
        ("(a + b) * c", "((a + b) * c)"),
        ("-complexity < -1", "((-complexity) < -1)"),
        // parentheses override.
        ("(a or b) and c", "((a or b) and c)"),
        ("not (a or b)", "(not (a or b))"),
        // literals
        ("waiting > 7d", "(waiting > 7d)"),
        ("kind in ['dols', \"ot\"]", "(kind in ['dols', 'ot'])"),
        ("x == 1.5 or y != false", "((x == 1.5) or (y != false))"),
        ("facts.age >= 85", "(facts.age >= 85)"),
        ("[]", "[]"),
        ("a<=b", "(a <= b)"),
    ])
    func groups(source: String, expected: String) throws {
        #expect(try Parser.parse(source).description == expected)
    }

    /// Golden error messages and the byte offset each points at.
    @Test(arguments: [
        ("('objection' in flags", 21, "expected ')' after 'flags'"),
        ("(a or b c", 8, "expected ')' after 'b', found 'c'"),
        ("a and", 5, "unexpected end of expression: expected a value after 'and'"),
        ("", 0, "empty expression"),
        ("kind = 'dols'", 5, "'=' is not an operator: use '==' to compare"),
        ("a && b", 2, "'&' is not an operator: use 'and'"),
        ("a || b", 2, "'|' is not an operator: use 'or'"),
        ("!a", 0, "'!' is not an operator: use 'not'"),
        ("'abc", 0, "unterminated string: add the closing '"),
        ("waiting > 7x", 11, "invalid duration '7x': the unit must be one of s, m, h, d, w"),
        ("waiting > 1.5d", 10, "duration '1.5d' must be a whole number: write \"36h\", not \"1.5d\""),
        ("1 < 2 < 3", 6, "comparisons cannot be chained: join them with 'and'"),
        ("a in b in c", 7, "'in' cannot be chained: join the tests with 'and'"),
        ("a b", 2, "unexpected 'b' after 'a': expected 'and', 'or' or the end"),
        ("a)", 1, "unexpected ')' without a matching '('"),
        ("kind in ['a', kind]", 14, "a list may hold only literal values"),
        ("kind in ['a' 'b']", 13, "expected ',' or ']' in list, found string 'b'"),
        ("kind in ['a'", 12, "unterminated list: expected ']'"),
        ("a == #", 5, "unexpected character '#'"),
        ("AND", 0, "keywords are lower-case: write 'and'"),
        ("facts.", 6, "expected a name after '.'"),
        ("a == )", 5, "expected a value, found ')'"),
    ])
    func reportsErrors(source: String, offset: Int, message: String) {
        #expect(throws: RuleError(offset: offset, message: message)) { try Parser.parse(source) }
    }

    /// Found by Tests/Fuzz/run (rules target): `-(((...` a thousand levels deep overflowed the stack. Nesting and
    /// operator counts are bounded; the bounds are far above any rule a person writes.
    @Test func boundsNestingAndOperators() throws {
        let deepest =
            String(repeating: "(", count: Parser.maxNesting) + "complexity > 3"
            + String(repeating: ")", count: Parser.maxNesting)
        _ = try Condition(deepest, scope: .triage)
        #expect(throws: RuleError(offset: Parser.maxNesting, message: "expression nested deeper than 32 levels")) {
            try Parser.parse("(" + deepest + ")")
        }
        #expect(throws: RuleError.self) { try Parser.parse("-" + String(repeating: "(", count: 100_000)) }
        #expect(throws: RuleError.self) { try Parser.parse(String(repeating: "not ", count: 100_000) + "true") }
        #expect(throws: RuleError.self) { try Parser.parse(String(repeating: "-", count: 100_000) + "1 > 0") }
        #expect(throws: RuleError.self) { try Parser.parse("[" + String(repeating: "[", count: 100_000)) }

        let widest = Array(repeating: "complexity > 1", count: Parser.maxOperators + 1).joined(separator: " and ")
        let c = try Condition(widest, scope: .triage)
        #expect(!c.source.isEmpty)
        #expect(throws: RuleError.self) { try Parser.parse(widest + " or true") }
        #expect(throws: RuleError.self) {
            try Parser.parse(Array(repeating: "1", count: 100_000).joined(separator: " + ") + " > 0")
        }
    }
}

import DutyCore

/// The syntax tree of a rule expression. `start` is the byte offset of the node's first character.
indirect enum Expression: Sendable {
    enum Comparison: String {
        case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
    }

    enum Arithmetic: String {
        case add = "+", subtract = "-", multiply = "*", divide = "/"
    }

    case number(Double, start: Int)
    case string(String, start: Int)
    case bool(Bool, start: Int)
    case duration(Duration, start: Int)
    case list([Expression], start: Int)
    case name(String, start: Int)
    case not(Expression, start: Int)
    case and(Expression, Expression)
    case or(Expression, Expression)
    case compare(Comparison, Expression, Expression, opStart: Int)
    case arithmetic(Arithmetic, Expression, Expression, opStart: Int)
    case negate(Expression, start: Int)
    /// `x in list`, or `x not in list` when `negated`.
    case member(Expression, Expression, negated: Bool, opStart: Int)

    var start: Int {
        switch self {
        case .number(_, let s), .string(_, let s), .bool(_, let s), .duration(_, let s), .list(_, let s),
            .name(_, let s), .not(_, let s), .negate(_, let s):
            s
        case .and(let l, _), .or(let l, _), .compare(_, let l, _, _), .member(let l, _, _, _),
            .arithmetic(_, let l, _, _):
            l.start
        }
    }
}

/// A recursive-descent parser. Precedence, loosest first: `or`, `and`, `not`, comparisons, `in`, then
/// arithmetic (`+ -`, then `* /`) and unary minus. `or`, `and` and arithmetic associate to the left;
/// comparisons and `in` do not chain.
struct Parser {
    private let tokens: [Token]
    private var p = 0
    private var nesting = 0
    private var operators = 0

    /// Bounds on the tree any text can build, so parsing, compiling and evaluating stay well within a thread's
    /// stack (found by the rules fuzz target: 1,000 '(' overflowed it).
    static let maxNesting = 32
    static let maxOperators = 256

    init(tokens: [Token]) { self.tokens = tokens }

    /// Entering `(`, `[`, `not` or unary `-`; the caller leaves with `nesting -= 1`.
    private mutating func enter(_ t: Token) throws(RuleError) {
        nesting += 1
        if nesting > Self.maxNesting {
            throw RuleError(offset: t.start, message: "expression nested deeper than \(Self.maxNesting) levels")
        }
    }

    /// One more `and`, `or` or arithmetic operator.
    private mutating func count(_ t: Token) throws(RuleError) {
        operators += 1
        if operators > Self.maxOperators {
            throw RuleError(
                offset: t.start,
                message: "more than \(Self.maxOperators) operators in one expression: split it into several rules")
        }
    }

    static func parse(_ text: String) throws(RuleError) -> Expression {
        let tokens = try Lexer.tokenize(text)
        var parser = Parser(tokens: tokens)
        if tokens.first?.kind == .end { throw RuleError(offset: 0, message: "empty expression") }
        let e = try parser.orExpr()
        let t = parser.peek
        if t.kind != .end {
            if t.kind == .rparen { throw RuleError(offset: t.start, message: "unexpected ')' without a matching '('") }
            throw RuleError(
                offset: t.start,
                message:
                    "unexpected \(describe(t)) after \(describe(parser.tokens[parser.p - 1])): expected 'and', 'or' or the end"
            )
        }
        return e
    }

    private var peek: Token { tokens[p] }

    private mutating func advance() -> Token {
        let t = tokens[p]
        if t.kind != .end { p += 1 }
        return t
    }

    static func describe(_ t: Token) -> String {
        switch t.kind {
        case .end: "end of expression"
        case .string: "string \(t.text)"
        default: "'\(t.text)'"
        }
    }

    private mutating func orExpr() throws(RuleError) -> Expression {
        var left = try andExpr()
        while peek.kind == .kwOr {
            try count(advance())
            left = .or(left, try andExpr())
        }
        return left
    }

    private mutating func andExpr() throws(RuleError) -> Expression {
        var left = try notExpr()
        while peek.kind == .kwAnd {
            try count(advance())
            left = .and(left, try notExpr())
        }
        return left
    }

    private mutating func notExpr() throws(RuleError) -> Expression {
        if peek.kind == .kwNot {
            let t = advance()
            try enter(t)
            defer { nesting -= 1 }
            return .not(try notExpr(), start: t.start)
        }
        return try comparison()
    }

    private static func comparisonOp(_ k: Token.Kind) -> Expression.Comparison? {
        switch k {
        case .eq: .eq
        case .ne: .ne
        case .lt: .lt
        case .le: .le
        case .gt: .gt
        case .ge: .ge
        default: nil
        }
    }

    private mutating func comparison() throws(RuleError) -> Expression {
        let left = try membership()
        guard let op = Self.comparisonOp(peek.kind) else { return left }
        let opToken = advance()
        let right = try membership()
        if Self.comparisonOp(peek.kind) != nil {
            throw RuleError(
                offset: peek.start, message: "comparisons cannot be chained: join them with 'and'")
        }
        return .compare(op, left, right, opStart: opToken.start)
    }

    private mutating func membership() throws(RuleError) -> Expression {
        let left = try additive()
        var negated = false
        let opStart = peek.start
        if peek.kind == .kwNot, tokens[p + 1].kind == .kwIn {
            _ = advance()
            negated = true
        } else if peek.kind != .kwIn {
            return left
        }
        _ = advance()
        let right = try additive()
        if peek.kind == .kwIn {
            throw RuleError(offset: peek.start, message: "'in' cannot be chained: join the tests with 'and'")
        }
        return .member(left, right, negated: negated, opStart: opStart)
    }

    private mutating func additive() throws(RuleError) -> Expression {
        var left = try multiplicative()
        while peek.kind == .plus || peek.kind == .minus {
            let op = advance()
            try count(op)
            left = .arithmetic(op.kind == .plus ? .add : .subtract, left, try multiplicative(), opStart: op.start)
        }
        return left
    }

    private mutating func multiplicative() throws(RuleError) -> Expression {
        var left = try unary()
        while peek.kind == .star || peek.kind == .slash {
            let op = advance()
            try count(op)
            left = .arithmetic(op.kind == .star ? .multiply : .divide, left, try unary(), opStart: op.start)
        }
        return left
    }

    private mutating func unary() throws(RuleError) -> Expression {
        if peek.kind == .minus {
            let t = advance()
            try enter(t)
            defer { nesting -= 1 }
            let inner = try unary()
            if case .number(let v, _) = inner { return .number(-v, start: t.start) }
            return .negate(inner, start: t.start)
        }
        return try primary()
    }

    private mutating func primary() throws(RuleError) -> Expression {
        let t = advance()
        if t.kind == .lparen || t.kind == .lbracket { try enter(t) }
        defer { if t.kind == .lparen || t.kind == .lbracket { nesting -= 1 } }
        switch t.kind {
        case .number(let v): return .number(v, start: t.start)
        case .string(let s): return .string(s, start: t.start)
        case .duration(let d): return .duration(d, start: t.start)
        case .kwTrue: return .bool(true, start: t.start)
        case .kwFalse: return .bool(false, start: t.start)
        case .name(let n): return .name(n, start: t.start)
        case .lparen:
            let inner = try orExpr()
            guard peek.kind == .rparen else {
                let previous = tokens[p - 1]
                throw RuleError(
                    offset: peek.start,
                    message: "expected ')' after '\(previous.text)'"
                        + (peek.kind == .end ? "" : ", found \(Self.describe(peek))"))
            }
            _ = advance()
            return inner
        case .lbracket:
            var items: [Expression] = []
            while peek.kind != .rbracket {
                if peek.kind == .end {
                    throw RuleError(offset: peek.start, message: "unterminated list: expected ']'")
                }
                let item = try unary()
                switch item {
                case .number, .string, .bool, .duration: items.append(item)
                default: throw RuleError(offset: item.start, message: "a list may hold only literal values")
                }
                if peek.kind == .comma {
                    _ = advance()
                } else if peek.kind == .end {
                    throw RuleError(offset: peek.start, message: "unterminated list: expected ']'")
                } else if peek.kind != .rbracket {
                    throw RuleError(
                        offset: peek.start, message: "expected ',' or ']' in list, found \(Self.describe(peek))")
                }
            }
            _ = advance()
            return .list(items, start: t.start)
        case .end:
            let after = p > 0 ? tokens[p - 1] : t
            if after.start == t.start && p == 0 { throw RuleError(offset: t.start, message: "empty expression") }
            throw RuleError(
                offset: t.start, message: "unexpected end of expression: expected a value after '\(after.text)'")
        default:
            throw RuleError(offset: t.start, message: "expected a value, found \(Self.describe(t))")
        }
    }
}

extension Expression: CustomStringConvertible {
    /// Fully parenthesised form, to show how an expression was grouped.
    var description: String {
        switch self {
        case .number(let v, _): v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
        case .string(let s, _): "'\(s)'"
        case .bool(let b, _): b ? "true" : "false"
        case .duration(let d, _): d.description
        case .list(let items, _): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .name(let n, _): n
        case .not(let e, _): "(not \(e))"
        case .negate(let e, _): "(-\(e))"
        case .and(let a, let b): "(\(a) and \(b))"
        case .or(let a, let b): "(\(a) or \(b))"
        case .compare(let op, let a, let b, _): "(\(a) \(op.rawValue) \(b))"
        case .arithmetic(let op, let a, let b, _): "(\(a) \(op.rawValue) \(b))"
        case .member(let a, let b, let negated, _): "(\(a) \(negated ? "not in" : "in") \(b))"
        }
    }
}

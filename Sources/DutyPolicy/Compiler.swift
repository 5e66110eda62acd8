import DutyCore
import Foundation

/// The static type of an expression. `fact` values are known only at evaluation time.
indirect enum ValueType: Hashable, CustomStringConvertible {
    case bool, number, string, duration, date, fact
    case list(ValueType)

    var description: String {
        switch self {
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .duration: "a duration"
        case .date: "a date"
        case .fact: "a fact"
        case .list(let t): t == .fact ? "a list" : "a list of \(Self.plural(t))"
        }
    }

    static func plural(_ t: ValueType) -> String {
        switch t {
        case .bool: "booleans"
        case .number: "numbers"
        case .string: "strings"
        case .duration: "durations"
        case .date: "dates"
        case .fact: "values"
        case .list: "lists"
        }
    }
}

/// Which names an expression may use.
public enum RuleScope: Sendable {
    /// `applies_to`: only `kind` and `team`.
    case appliesTo
    /// A triage rule's `when`: referral names.
    case triage
    /// The allocation policy: referral names and `worker.*`.
    case allocation

    static let referralNames = [
        "kind", "team", "person", "flags", "skills", "complexity", "waiting", "received", "now",
    ]
    static let workerNames = [
        "worker.id", "worker.role", "worker.skills", "worker.experience", "worker.asye", "worker.load",
        "worker.capacity",
    ]

    var names: [String] {
        switch self {
        case .appliesTo: ["kind", "team"]
        case .triage: Self.referralNames
        case .allocation: Self.referralNames + Self.workerNames
        }
    }
}

typealias BoolFn = @Sendable (RuleContext) -> Bool
typealias ValueFn = @Sendable (RuleContext) -> RuntimeValue

/// A typed, compiled sub-expression: closures specialised by static type, so evaluation never re-parses
/// and rarely boxes values.
enum Compiled {
    case bool(BoolFn)
    case number(@Sendable (RuleContext) -> Double)
    case string(@Sendable (RuleContext) -> String?)
    case duration(@Sendable (RuleContext) -> Int64)
    /// Seconds since 1970; nil when a fact it reads is missing or not a date.
    case date(@Sendable (RuleContext) -> Double?)
    case strings(@Sendable (RuleContext) -> [String])
    /// A constant list literal.
    case constList([RuntimeValue])
    case dynamic(ValueFn)

    /// Any compiled value as a boxed runtime value (used where a side's type is only known at run time).
    var boxed: ValueFn {
        switch self {
        case .bool(let f): { .bool(f($0)) }
        case .number(let f): { .number(f($0)) }
        case .string(let f): { c in f(c).map { .string($0) } ?? .missing }
        case .duration(let f): { .duration(f($0)) }
        case .date(let f): { c in f(c).map { .date($0) } ?? .missing }
        case .strings(let f): { c in .list(f(c).map { .string($0) }) }
        case .constList(let items): { _ in .list(items) }
        case .dynamic(let f): f
        }
    }

    /// As a condition: dynamic values count as true only when they are the boolean `true`.
    var condition: BoolFn? {
        switch self {
        case .bool(let f): f
        case .dynamic(let f): { f($0) == .bool(true) }
        default: nil
        }
    }
}

/// Type-checks an expression against a scope and compiles it to closures.
struct Compiler {
    let scope: RuleScope

    func compileCondition(_ e: Expression) throws(RuleError) -> BoolFn {
        let (type, code) = try compile(e)
        guard let fn = code.condition else {
            throw RuleError(offset: e.start, message: "a condition must be true or false, but this is \(type)")
        }
        return fn
    }

    func compile(_ e: Expression) throws(RuleError) -> (ValueType, Compiled) {
        switch e {
        case .number(let v, _): return (.number, .number { _ in v })
        case .string(let s, _): return (.string, .string { _ in s })
        case .bool(let b, _): return (.bool, .bool { _ in b })
        case .duration(let d, _):
            let s = d.seconds
            return (.duration, .duration { _ in s })
        case .list(let items, let start):
            var values: [RuntimeValue] = []
            var elementType: ValueType?
            for item in items {
                let (t, v): (ValueType, RuntimeValue) =
                    switch item {
                    case .number(let n, _): (.number, .number(n))
                    case .string(let s, _): (.string, .string(s))
                    case .bool(let b, _): (.bool, .bool(b))
                    case .duration(let d, _): (.duration, .duration(d.seconds))
                    default: throw RuleError(offset: item.start, message: "a list may hold only literal values")
                    }
                if let et = elementType, et != t {
                    throw RuleError(
                        offset: item.start, message: "a list must hold values of one type: \(et) and \(t) are mixed")
                }
                elementType = t
                values.append(v)
            }
            _ = start
            return (.list(elementType ?? .fact), .constList(values))
        case .name(let name, let start): return try compileName(name, start: start)
        case .not(let inner, _):
            let f = try conditionOperand(inner, op: "not")
            return (.bool, .bool { !f($0) })
        case .and(let l, let r):
            let a = try conditionOperand(l, op: "and")
            let b = try conditionOperand(r, op: "and")
            return (.bool, .bool { a($0) && b($0) })
        case .or(let l, let r):
            let a = try conditionOperand(l, op: "or")
            let b = try conditionOperand(r, op: "or")
            return (.bool, .bool { a($0) || b($0) })
        case .compare(let op, let l, let r, let opStart):
            return (.bool, .bool(try compileComparison(op, l, r, opStart: opStart)))
        case .negate(let inner, let start):
            let (t, c) = try compile(inner)
            switch c {
            case .number(let f): return (.number, .number { -f($0) })
            case .duration(let f): return (.duration, .duration { -f($0) })
            case .dynamic(let f):
                return (
                    .fact,
                    .dynamic { c in
                        switch f(c) {
                        case .number(let n): .number(-n)
                        case .duration(let d): .duration(-d)
                        default: .missing
                        }
                    }
                )
            default: throw RuleError(offset: start, message: "'-' needs a number or a duration, not \(t)")
            }
        case .arithmetic(let op, let l, let r, let opStart):
            return try compileArithmetic(op, l, r, opStart: opStart)
        case .member(let l, let r, let negated, let opStart):
            let f = try compileMember(l, r, opStart: opStart)
            if negated { return (.bool, .bool { !f($0) }) }
            return (.bool, .bool(f))
        }
    }

    private func conditionOperand(_ e: Expression, op: String) throws(RuleError) -> BoolFn {
        let (type, code) = try compile(e)
        guard let fn = code.condition else {
            throw RuleError(offset: e.start, message: "'\(op)' needs true or false, but this is \(type)")
        }
        return fn
    }

    private func compileName(_ name: String, start: Int) throws(RuleError) -> (ValueType, Compiled) {
        if name.hasPrefix("facts.") {
            let key = String(name.dropFirst(6))
            guard scope != .appliesTo else { throw unknownName(name, start: start) }
            guard ReferralDecoder.isValidFactName(key) else {
                throw RuleError(offset: start, message: "'\(name)': fact names are letters, digits and _")
            }
            return (.fact, .dynamic { RuntimeValue($0.referral.facts[key]) })
        }
        guard scope.names.contains(name) else { throw unknownName(name, start: start) }
        switch name {
        case "kind": return (.string, .string { $0.referral.kind })
        case "team": return (.string, .string { $0.referral.team })
        case "person": return (.string, .string { $0.referral.person })
        case "flags": return (.list(.string), .strings { $0.referral.flags })
        case "skills": return (.list(.string), .strings { $0.referral.skills })
        case "complexity": return (.number, .number { Double($0.referral.complexity) })
        case "waiting": return (.duration, .duration { $0.waiting })
        case "received": return (.date, .date { $0.referral.received.timeIntervalSince1970 })
        case "now": return (.date, .date { $0.now.timeIntervalSince1970 })
        case "worker.id": return (.string, .string { $0.worker?.id })
        case "worker.role": return (.string, .string { $0.worker?.role })
        case "worker.skills": return (.list(.string), .strings { $0.worker?.skills ?? [] })
        case "worker.experience": return (.number, .number { Double($0.worker?.experience ?? 0) })
        case "worker.asye": return (.bool, .bool { $0.worker?.asye ?? false })
        case "worker.load": return (.number, .number { $0.worker?.load ?? 0 })
        case "worker.capacity": return (.number, .number { $0.worker?.capacity ?? 0 })
        default: throw unknownName(name, start: start)
        }
    }

    private func unknownName(_ name: String, start: Int) -> RuleError {
        if name.hasPrefix("worker.") && scope != .allocation {
            return RuleError(offset: start, message: "'\(name)' is only available in the allocation policy")
        }
        if scope == .appliesTo {
            return RuleError(offset: start, message: "applies_to may use only 'kind' and 'team', not '\(name)'")
        }
        if name == "fact" || name == "facts" {
            return RuleError(offset: start, message: "name a fact as facts.NAME, e.g. facts.age")
        }
        var message = "unknown name '\(name)'"
        if let guess = closestMatch(name, in: scope.names) { message += "; did you mean '\(guess)'?" }
        return RuleError(offset: start, message: message)
    }

    private func compileComparison(
        _ op: Expression.Comparison, _ l0: Expression, _ r0: Expression, opStart: Int
    ) throws(RuleError) -> BoolFn {
        let (op, l, r) = Self.onTheCalendar(op, l0, r0)
        var (lt, lc) = try compile(l)
        var (rt, rc) = try compile(r)
        // A fact compared with a date is read as a date.
        if lt == .date && rt == .fact { (rt, rc) = (.date, .date(Self.dateOf(rc))) }
        if rt == .date && lt == .fact { (lt, lc) = (.date, .date(Self.dateOf(lc))) }
        if case .list = lt {
            throw RuleError(offset: l.start, message: "cannot compare a list with '\(op.rawValue)': use 'in'")
        }
        if case .list = rt {
            throw RuleError(offset: r.start, message: "cannot compare a list with '\(op.rawValue)': use 'in'")
        }
        if lt != .fact && rt != .fact && lt != rt {
            var message = "cannot compare \(lt) with \(rt)"
            if (lt == .duration && rt == .number) || (lt == .number && rt == .duration) {
                message += ": write a duration with a unit, like 7d"
            }
            throw RuleError(offset: opStart, message: message)
        }
        let ordering = op != .eq && op != .ne
        if ordering && (lt == .bool || rt == .bool) {
            throw RuleError(offset: opStart, message: "'\(op.rawValue)' cannot order booleans: use '==' or '!='")
        }
        if let fast = constantComparison(op, l, r) { return fast }
        // Typed fast paths.
        switch (lc, rc) {
        case (.date(let a), .date(let b)):
            // A missing or unreadable date compares false.
            return { c in
                guard let x = a(c), let y = b(c) else { return false }
                return Self.order(op, x, y)
            }
        case (.number(let a), .number(let b)):
            switch op {
            case .eq: return { a($0) == b($0) }
            case .ne: return { a($0) != b($0) }
            case .lt: return { a($0) < b($0) }
            case .le: return { a($0) <= b($0) }
            case .gt: return { a($0) > b($0) }
            case .ge: return { a($0) >= b($0) }
            }
        case (.duration(let a), .duration(let b)):
            switch op {
            case .eq: return { a($0) == b($0) }
            case .ne: return { a($0) != b($0) }
            case .lt: return { a($0) < b($0) }
            case .le: return { a($0) <= b($0) }
            case .gt: return { a($0) > b($0) }
            case .ge: return { a($0) >= b($0) }
            }
        case (.string(let a), .string(let b)):
            // A missing value (e.g. an unresolved team) compares false.
            return { c in
                guard let x = a(c), let y = b(c) else { return false }
                return Self.order(op, x, y)
            }
        case (.bool(let a), .bool(let b)):
            if op == .eq { return { a($0) == b($0) } }
            return { a($0) != b($0) }
        default:
            let a = lc.boxed
            let b = rc.boxed
            return { c in Self.compareDynamic(op, a(c), b(c)) }
        }
    }

    private func compileArithmetic(
        _ op: Expression.Arithmetic, _ l: Expression, _ r: Expression, opStart: Int
    ) throws(RuleError) -> (ValueType, Compiled) {
        var (lt, lc) = try compile(l)
        var (rt, rc) = try compile(r)
        let bad = RuleError(offset: opStart, message: "cannot use '\(op.rawValue)' on \(lt) and \(rt)")
        // A fact with a date, or plus or minus a duration, is a date (`facts.expires - now`, `facts.granted + 7d`).
        let moves = op == .add || op == .subtract
        if moves && lt == .fact && (rt == .date || rt == .duration) { (lt, lc) = (.date, .date(Self.dateOf(lc))) }
        if moves && rt == .fact && lt == .date { (rt, rc) = (.date, .date(Self.dateOf(rc))) }
        switch (lc, rc, op) {
        case (.date(let a), .date(let b), .subtract):
            // The exact time between: a duration, missing when either date is.
            return (
                .duration,
                .dynamic { c in
                    guard let x = a(c), let y = b(c) else { return .missing }
                    return .duration(Int64((x - y).rounded(.down)))
                }
            )
        case (.date(let a), .duration, .add), (.date(let a), .duration, .subtract):
            // A written duration moves a date on the calendar (days keep the local time); a computed one exactly.
            let sign: Int64 = op == .add ? 1 : -1
            if case .duration(let d, _) = r {
                return (
                    .date,
                    .date { c in
                        a(c).map {
                            let t = Date(timeIntervalSince1970: $0)
                            return (sign > 0 ? d.after(t, in: c.timeZone) : d.before(t, in: c.timeZone))
                                .timeIntervalSince1970
                        }
                    }
                )
            }
            guard case .duration(let b) = rc else { throw bad }
            return (.date, .date { c in a(c).map { $0 + Double(sign * b(c)) } })
        case (.duration, .date, .add):
            return try compileArithmetic(op, r, l, opStart: opStart)
        case (.number(let a), .number(let b), .add): return (.number, .number { a($0) + b($0) })
        case (.number(let a), .number(let b), .subtract): return (.number, .number { a($0) - b($0) })
        case (.number(let a), .number(let b), .multiply): return (.number, .number { a($0) * b($0) })
        case (.number(let a), .number(let b), .divide): return (.number, .number { a($0) / b($0) })
        case (.duration(let a), .duration(let b), .add): return (.duration, .duration { a($0) + b($0) })
        case (.duration(let a), .duration(let b), .subtract): return (.duration, .duration { a($0) - b($0) })
        case (.duration(let a), .number(let b), .multiply): return (.duration, .duration { Self.scale(a($0), b($0)) })
        case (.number(let a), .duration(let b), .multiply): return (.duration, .duration { Self.scale(b($0), a($0)) })
        case (.duration(let a), .number(let b), .divide): return (.duration, .duration { Self.scale(a($0), 1 / b($0)) })
        default:
            let allowed: Set<ValueType> = [.number, .duration, .fact]
            guard allowed.contains(lt), allowed.contains(rt), lt == .fact || rt == .fact else {
                if lt == .date || rt == .date {
                    throw RuleError(
                        offset: opStart,
                        message:
                            "cannot use '\(op.rawValue)' on \(lt) and \(rt): a date minus a date is a duration, a date plus or minus a duration is a date"
                    )
                }
                throw bad
            }
            let a = lc.boxed
            let b = rc.boxed
            return (.fact, .dynamic { c in Self.arithmeticDynamic(op, a(c), b(c)) })
        }
    }

    private static func scale(_ d: Int64, _ by: Double) -> Int64 {
        let v = Double(d) * by
        return v.isFinite && abs(v) < 9e18 ? Int64(v) : 0
    }

    static func arithmeticDynamic(_ op: Expression.Arithmetic, _ x: RuntimeValue, _ y: RuntimeValue) -> RuntimeValue {
        switch (x, y, op) {
        case (.number(let a), .number(let b), .add): .number(a + b)
        case (.number(let a), .number(let b), .subtract): .number(a - b)
        case (.number(let a), .number(let b), .multiply): .number(a * b)
        case (.number(let a), .number(let b), .divide): .number(a / b)
        case (.duration(let a), .duration(let b), .add): .duration(a + b)
        case (.duration(let a), .duration(let b), .subtract): .duration(a - b)
        case (.duration(let a), .number(let b), .multiply): .duration(scale(a, b))
        case (.number(let a), .duration(let b), .multiply): .duration(scale(b, a))
        case (.duration(let a), .number(let b), .divide): .duration(scale(a, 1 / b))
        default: .missing
        }
    }

    /// Comparisons of a name with a literal, the shape of most rules, compiled without boxing.
    private func constantComparison(_ op: Expression.Comparison, _ l: Expression, _ r: Expression) -> BoolFn? {
        guard case .name(let name, _) = l else { return nil }
        switch r {
        case .duration(let d, _) where name == "waiting" && d.unit.seconds < 86_400:
            let s = d.seconds
            return { Self.order(op, $0.waiting, s) }
        case .number(let n, _) where name.hasPrefix("facts."):
            let key = String(name.dropFirst(6))
            return { c in
                guard case .number(let v) = c.referral.facts[key] else { return false }
                return Self.order(op, v, n)
            }
        case .number(let n, _) where name == "complexity":
            let k = Int(exactly: n)
            if let k { return { Self.order(op, $0.referral.complexity, k) } }
            return { Self.order(op, Double($0.referral.complexity), n) }
        case .string(let s, _) where name == "kind":
            return { Self.order(op, $0.referral.kind, s) }
        default: return nil
        }
    }

    private static func order<T: Comparable>(_ op: Expression.Comparison, _ x: T, _ y: T) -> Bool {
        switch op {
        case .eq: x == y
        case .ne: x != y
        case .lt: x < y
        case .le: x <= y
        case .gt: x > y
        case .ge: x >= y
        }
    }

    /// A comparison where a side is a fact: missing values and mismatched types compare false.
    static func compareDynamic(_ op: Expression.Comparison, _ x: RuntimeValue, _ y: RuntimeValue) -> Bool {
        switch (x, y) {
        case (.number(let a), .number(let b)): order(op, a, b)
        case (.string(let a), .string(let b)): order(op, a, b)
        case (.duration(let a), .duration(let b)): order(op, a, b)
        case (.date(let a), .date(let b)): order(op, a, b)
        case (.bool(let a), .bool(let b)):
            switch op {
            case .eq: a == b
            case .ne: a != b
            default: false
            }
        default: false
        }
    }

    private func compileMember(_ l: Expression, _ r: Expression, opStart: Int) throws(RuleError) -> BoolFn {
        let (lt, lc) = try compile(l)
        let (rt, rc) = try compile(r)
        if case .list = lt {
            throw RuleError(offset: l.start, message: "the left of 'in' must be a single value, not \(lt)")
        }
        let element: ValueType
        switch rt {
        case .list(let e): element = e
        case .fact: element = .fact
        default:
            throw RuleError(offset: r.start, message: "'in' needs a list on the right, not \(rt)")
        }
        if lt != .fact && element != .fact && lt != element {
            throw RuleError(offset: opStart, message: "'in' compares \(lt) with \(rt): the types must match")
        }
        // Fast path for the commonest rule shape: 'flag' in flags.
        if case .string(let literal, _) = l, case .name(let name, _) = r {
            switch name {
            case "flags": return { $0.referral.flags.contains(literal) }
            case "skills": return { $0.referral.skills.contains(literal) }
            case "worker.skills": return { $0.worker?.skills.contains(literal) ?? false }
            default: break
            }
        }
        switch (lc, rc) {
        case (.string(let a), .strings(let b)):
            return { c in
                guard let x = a(c) else { return false }
                return b(c).contains(x)
            }
        case (.string(let a), .constList(let items)):
            let set = Set(items.compactMap { if case .string(let s) = $0 { s } else { nil } })
            return { c in a(c).map { set.contains($0) } ?? false }
        default:
            let a = lc.boxed
            let b = rc.boxed
            return { c in
                let x = a(c)
                guard x != .missing, case .list(let items) = b(c) else { return false }
                return items.contains { Self.compareDynamic(.eq, x, $0) }
            }
        }
    }
}

/// A compiled rule condition: parse once, evaluate many times.
///
/// A class: compiled conditions are shared, never copied, and a call through a stored reference needs no
/// reabstraction thunk (closures held directly in arrays do).
public final class Condition: Sendable {
    let fn: BoolFn
    /// The expression's text, for explanations.
    public let source: String
    /// Fact names the expression reads, for `policy check --sample`.
    public let facts: Set<String>

    /// Parses and type-checks `source` for `scope`.
    public init(_ source: String, scope: RuleScope) throws(RuleError) {
        let expression = try Parser.parse(source)
        self.expression = expression
        fn = try Compiler(scope: scope).compileCondition(expression)
        self.source = source
        names = Self.names(expression)
        facts = Set(names.filter { $0.hasPrefix("facts.") }.map { String($0.dropFirst(6)) })
    }

    /// Every name the expression reads (`kind`, `facts.age`, `worker.load`...): what its value depends on.
    public let names: Set<String>
    /// The flags it tests (`'risk_to_life' in flags`): part of the intake's flag vocabulary.
    public var flagsRead: Set<String> { Self.literals(expression, testedAgainst: "flags") }
    /// The worker skills it tests (`'bia' in worker.skills`), for `policy check` against the roster.
    public var workerSkillsRead: Set<String> { Self.literals(expression, testedAgainst: "worker.skills") }
    /// How it uses each fact it reads, where that is plain from the expression (`facts.age >= 85` a number,
    /// `facts.lives_alone and ...` true/false, `facts.tenure == 'council'` a string); nil for a fact used more
    /// than one way.
    public var factUses: [String: FactType?] {
        var out: [String: FactType?] = [:]
        Self.factUses(expression, asCondition: true, into: &out)
        return out
    }
    private let expression: Expression

    public func evaluate(_ context: RuleContext) -> Bool { fn(context) }

    /// The string literals tested for membership of the list named `list` (`'x' in list`).
    private static func literals(_ e: Expression, testedAgainst list: String) -> Set<String> {
        switch e {
        case .member(.string(let s, _), .name(let name, _), _, _) where name == list: [s]
        case .not(let x, _), .negate(let x, _): literals(x, testedAgainst: list)
        case .and(let a, let b), .or(let a, let b), .compare(_, let a, let b, _), .member(let a, let b, _, _),
            .arithmetic(_, let a, let b, _):
            literals(a, testedAgainst: list).union(literals(b, testedAgainst: list))
        default: []
        }
    }

    private static func names(_ e: Expression) -> Set<String> {
        switch e {
        case .name(let n, _): [n]
        case .not(let x, _), .negate(let x, _): names(x)
        case .and(let a, let b), .or(let a, let b), .compare(_, let a, let b, _), .member(let a, let b, _, _),
            .arithmetic(_, let a, let b, _):
            names(a).union(names(b))
        default: []
        }
    }
}

import DutyCore
import Foundation

/// Dates in the rule language: reading a fact as a date, and comparing spans on the calendar.
extension Compiler {
    /// A fact's value read as a date: an ISO date or date-time (a bare date is local midnight in the council's
    /// zone); nil when missing or not a date.
    static func dateOf(_ c: Compiled) -> @Sendable (RuleContext) -> Double? {
        switch c {
        case .date(let f): return f
        default:
            let f = c.boxed
            return { ctx in
                switch f(ctx) {
                case .date(let d): d
                case .string(let s): ISOTime.parse(s, timeZone: ctx.timeZone)?.timeIntervalSince1970
                default: nil
                }
            }
        }
    }

    /// Comparisons of a time span with a written duration are made on the calendar: `waiting > 21d` is
    /// `now > received + 21d` and `facts.expires - now <= 28d` is `facts.expires <= now + 28d`, where days keep
    /// the local time across a clock change (RFC 5545's nominal durations). Other comparisons are unchanged.
    static func onTheCalendar(_ op: Expression.Comparison, _ l: Expression, _ r: Expression)
        -> (Expression.Comparison, Expression, Expression)
    {
        func span(_ e: Expression) -> (Expression, Expression)? {
            switch e {
            case .name("waiting", let s): return (.name("now", start: s), .name("received", start: s))
            case .arithmetic(.subtract, let a, let b, _) where isDate(a) || isDate(b): return (a, b)
            default: return nil
            }
        }
        func isDate(_ e: Expression) -> Bool {
            switch e {
            case .name("now", _), .name("received", _): true
            case .arithmetic(.add, let a, let b, _), .arithmetic(.subtract, let a, let b, _):
                isDate(a) || (isDate(b) && !isDate(a))
            default: false
            }
        }
        let flipped: [Expression.Comparison: Expression.Comparison] = [
            .lt: .gt, .le: .ge, .gt: .lt, .ge: .le, .eq: .eq, .ne: .ne,
        ]
        if case .duration(let d, let s) = r, d.unit.seconds >= 86_400, let (a, b) = span(l) {
            return (op, a, .arithmetic(.add, b, .duration(d, start: s), opStart: s))
        }
        if case .duration(let d, let s) = l, d.unit.seconds >= 86_400, let (a, b) = span(r) {
            return (flipped[op]!, a, .arithmetic(.add, b, .duration(d, start: s), opStart: s))
        }
        return (op, l, r)
    }
}

/// The date a triage rule makes its referral due by (`due: "facts.urgent_granted + 7d"`,
/// `due: "facts.authorisation_expires"`): compiled once; nil at evaluation when a fact it reads is missing or not
/// a date.
public final class DueExpression: Sendable {
    let fn: @Sendable (RuleContext) -> Double?
    public let source: String
    private let expression: Expression

    /// Parses and type-checks `source`: it must be a date (a date fact, `received`, `now`, or one of those plus
    /// or minus a duration).
    public init(_ source: String, scope: RuleScope) throws(RuleError) {
        let expression = try Parser.parse(source)
        let (type, code) = try Compiler(scope: scope).compile(expression)
        guard type == .date || type == .fact else {
            throw RuleError(
                offset: expression.start,
                message: "'due' must be a date, like facts.expires or facts.granted + 7d; this is \(type)")
        }
        self.expression = expression
        self.source = source
        fn = Compiler.dateOf(code)
    }

    public func evaluate(_ context: RuleContext) -> Date? { fn(context).map { Date(timeIntervalSince1970: $0) } }

    /// The facts it reads, each a date.
    public var factUses: [String: FactType?] {
        var out: [String: FactType?] = [:]
        if case .name(let n, _) = expression, n.hasPrefix("facts.") { out[String(n.dropFirst(6))] = .date }
        Condition.factUses(expression, asCondition: false, into: &out)
        return out
    }
}

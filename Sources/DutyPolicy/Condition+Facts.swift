import DutyCore

/// How a condition uses each fact: the types intake checks facts against (`Condition.factUses`).
extension Condition {
    static func fact(_ e: Expression) -> String? {
        if case .name(let n, _) = e, n.hasPrefix("facts.") { String(n.dropFirst(6)) } else { nil }
    }

    /// The type an operand has, when the expression alone says it.
    static func type(of e: Expression) -> FactType? {
        switch e {
        case .name("now", _), .name("received", _): return .date
        case .arithmetic(let op, let a, let b, _):
            // A date plus or minus a duration is a date; a date minus a date a duration; else a number.
            let (ta, tb) = (type(of: a), type(of: b))
            if ta == .date || tb == .date { return op == .subtract && ta == .date && tb == .date ? nil : .date }
            if case .duration = a { return fact(b) != nil ? .date : nil }
            if case .duration = b { return fact(a) != nil ? .date : nil }
            return .number
        default: break
        }
        return switch e {
        case .number, .negate: .number
        case .bool: .bool
        case .string: .string
        case .name(let n, _):
            ["complexity", "worker.experience", "worker.load", "worker.capacity"].contains(n)
                ? .number
                : ["kind", "team", "person", "worker.id", "worker.role"].contains(n)
                    ? .string
                    : n == "worker.asye" ? .bool : nil
        default: nil
        }
    }

    static func factUses(_ e: Expression, asCondition: Bool, into out: inout [String: FactType?]) {
        func note(_ name: String, _ type: FactType) {
            if let existing = out[name] {
                if existing != type { out[name] = .some(nil) }
            } else {
                out[name] = type
            }
        }
        switch e {
        case .name:
            if asCondition, let f = fact(e) { note(f, .bool) }
        case .not(let x, _): factUses(x, asCondition: true, into: &out)
        case .and(let a, let b), .or(let a, let b):
            factUses(a, asCondition: true, into: &out)
            factUses(b, asCondition: true, into: &out)
        case .compare(let op, let a0, let b0, _):
            let (_, a, b) = Compiler.onTheCalendar(op, a0, b0)
            if let f = fact(a), let t = type(of: b) { note(f, t) }
            if let f = fact(b), let t = type(of: a) { note(f, t) }
            factUses(a, asCondition: false, into: &out)
            factUses(b, asCondition: false, into: &out)
        case .arithmetic(_, let a, let b, _):
            // A fact beside a date or a duration is a date (`facts.expires - now`, `facts.granted + 7d`).
            for (x, other) in [(a, b), (b, a)] {
                if let f = fact(x) {
                    var dated = type(of: other) == .date
                    if case .duration = other { dated = true }
                    note(f, dated ? .date : .number)
                }
                factUses(x, asCondition: false, into: &out)
            }
        case .negate(let x, _):
            if let f = fact(x) { note(f, .number) }
            factUses(x, asCondition: false, into: &out)
        case .member(let a, .list(let items, _), _, _):
            if let f = fact(a), let t = items.first.flatMap(type(of:)) { note(f, t) }
        default: break
        }
    }
}

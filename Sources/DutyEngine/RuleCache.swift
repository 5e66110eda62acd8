import DutyCore
import DutyPolicy

/// Remembers the outcome of the allocation policy's `eligible` rules for (referral class, worker), where a
/// referral class is the values of every referral name the rules read. Referrals of one class meet every worker
/// the same way, so a pass over a long waiting list evaluates each rule once per class and worker instead of once
/// per referral and worker.
///
/// Rules that read `waiting` make every referral its own class (no caching); rules that read `worker.load` are
/// forgotten for a worker whenever its load changes. A class, owned by one allocator pass.
final class RuleCache {
    enum Part: Hashable {
        case text(String?)
        case number(Double)
        case list([String])
        case fact(FactValue?)
    }

    /// A class named by the referral's kind, team and complexity: see `packed`.
    private struct PackedKey: Hashable {
        var kind: Int
        var team: Int
        var complexity: Int
    }

    private let names: [String]
    private let enabled: Bool
    private let index: CycleIndex
    /// When the rules read nothing of a referral but its kind, team and complexity (the shipped policy reads kind
    /// and complexity), classes are found by those as numbers (kind and team positions from the cycle's index),
    /// without building and hashing a list of values for every referral.
    private let packable: Bool
    private var packed: [PackedKey: Int] = [:]
    let readsLoad: Bool
    private let workerCount: Int
    private var classes: [[Part]: Int] = [:]
    /// Classes so far (in `classes` and `packed`).
    private var count = 0
    /// Per referral index: its class, or -1 when not yet known.
    private var classOf: [Int]
    /// classes x workers: 0 unknown, 1 passes every rule, 2 + k fails rule k first.
    private var outcomes: [UInt8] = []
    private static let maxCells = 20_000_000

    init(policy: AllocationPolicy, index: CycleIndex, workerCount: Int) {
        self.index = index
        var referralNames = Set<String>()
        var load = false
        for rule in policy.eligible {
            for n in rule.condition.names {
                if n == "worker.load" { load = true }
                if !n.hasPrefix("worker.") { referralNames.insert(n) }
            }
        }
        names = referralNames.sorted()
        // Rules reading the clock (`waiting`, `now`) change while the facts do not: no caching then.
        enabled = !referralNames.contains("waiting") && !referralNames.contains("now") && policy.eligible.count < 250
        packable = referralNames.isSubset(of: ["kind", "team", "complexity"])
        readsLoad = load
        self.workerCount = workerCount
        classOf = Array(repeating: -1, count: index.kind.count)
    }

    /// One value of the referral in `context` (read in place: the referral is not copied out of the context).
    private func part(_ name: String, _ context: RuleContext) -> Part {
        switch name {
        case "kind": .text(context.referral.kind)
        case "team": .text(context.referral.team)
        case "person": .text(context.referral.person)
        case "flags": .list(context.referral.flags)
        case "skills": .list(context.referral.skills)
        case "complexity": .number(Double(context.referral.complexity))
        default:
            name.hasPrefix("facts.") ? .fact(context.referral.facts[String(name.dropFirst(6))]) : .text(nil)
        }
    }

    /// The class of referral `i` (whose team is resolved in `context`), or -1 when caching is off for it.
    func classOf(_ i: Int, _ context: RuleContext) -> Int {
        guard enabled else { return -1 }
        if classOf[i] >= 0 { return classOf[i] }
        let id: Int?
        // Kinds and teams the index knows (a team name the roster lacks has no position).
        if packable && index.kind[i] >= 0 && index.team[i] != CycleIndex.unknownTeam {
            id = Self.find(
                PackedKey(kind: index.kind[i], team: index.team[i], complexity: context.referral.complexity),
                in: &packed, new: newClass)
        } else {
            id = Self.find(names.map { part($0, context) }, in: &classes, new: newClass)
        }
        guard let id else { return -1 }
        classOf[i] = id
        return id
    }

    /// The class `key` names in `table`, adding a new one when it names none; nil when the table of outcomes is
    /// full.
    private static func find<Key: Hashable>(_ key: Key, in table: inout [Key: Int], new: () -> Int?) -> Int? {
        if let known = table[key] { return known }
        guard let id = new() else { return nil }
        table[key] = id
        return id
    }

    /// A new class id with room for its outcomes, or nil when the table is full.
    private func newClass() -> Int? {
        guard (count + 1) * workerCount <= Self.maxCells else { return nil }
        count += 1
        outcomes.append(contentsOf: repeatElement(0, count: workerCount))
        return count - 1
    }

    /// The remembered outcome: nil when unknown, else the index of the first failing rule or -1 for a pass.
    func outcome(class c: Int, worker w: Int) -> Int? {
        let v = outcomes[c * workerCount + w]
        return v == 0 ? nil : Int(v) - 2
    }

    func remember(class c: Int, worker w: Int, failing rule: Int?) {
        outcomes[c * workerCount + w] = rule.map { UInt8($0 + 2) } ?? 1
    }

    /// Forgets every class's outcome for a worker whose load changed, when rules read the load.
    func loadChanged(worker w: Int) {
        guard readsLoad else { return }
        for c in 0..<count { outcomes[c * workerCount + w] = 0 }
    }
}

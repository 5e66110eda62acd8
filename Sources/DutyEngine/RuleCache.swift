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

    private let names: [String]
    private let enabled: Bool
    let readsLoad: Bool
    private let workerCount: Int
    private var classes: [[Part]: Int] = [:]
    /// Per referral index: its class, or -1 when not yet known.
    private var classOf: [Int]
    /// classes x workers: 0 unknown, 1 passes every rule, 2 + k fails rule k first.
    private var outcomes: [UInt8] = []
    private static let maxCells = 20_000_000

    init(policy: AllocationPolicy, referralCount: Int, workerCount: Int) {
        var referralNames = Set<String>()
        var load = false
        for rule in policy.eligible {
            for n in rule.condition.names {
                if n == "worker.load" { load = true }
                if !n.hasPrefix("worker.") { referralNames.insert(n) }
            }
        }
        names = referralNames.sorted()
        enabled = !referralNames.contains("waiting") && policy.eligible.count < 250
        readsLoad = load
        self.workerCount = workerCount
        classOf = Array(repeating: -1, count: referralCount)
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
        let key = names.map { part($0, context) }
        let id: Int
        if let known = classes[key] {
            id = known
        } else {
            guard (classes.count + 1) * workerCount <= Self.maxCells else { return -1 }
            id = classes.count
            classes[key] = id
            outcomes.append(contentsOf: repeatElement(0, count: workerCount))
        }
        classOf[i] = id
        return id
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
        for c in 0..<classes.count { outcomes[c * workerCount + w] = 0 }
    }
}

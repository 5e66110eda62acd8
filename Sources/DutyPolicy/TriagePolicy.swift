import DutyCore
import Foundation

/// A rule of a triage policy: when `condition` holds, the referral is at least at `level`.
public struct TriageRule: Sendable {
    public var id: String
    public var level: String
    /// Index of `level` in the policy's `levels`.
    public var levelIndex: Int
    public var condition: Condition
    public var because: String
    /// Where the rule's `when` starts in its file.
    public var position: SourcePosition
    /// `due`: when the rule matches, the referral is due by this date if that is earlier than its level's due
    /// (`received + allocate_within`).
    public var due: DueExpression?

    /// An aging rule: its condition reads `waiting`, so it matches because of how long the referral has waited,
    /// not because of its risk. It raises the level (timescale, escalation, review) but the allocation order puts
    /// a referral at a rank only through aging rules after those at that rank on their risk (README, "The
    /// allocation order").
    public var isAging: Bool { condition.names.contains("waiting") }
}

/// One kind's prioritisation policy: levels, rules and the default level (SPEC "Triage policies").
/// A class, not a struct: the engine looks a policy up for every referral in every cycle, and a struct's copy
/// retained and released each of its fields each time.
public final class TriagePolicy: Sendable {
    public let id: String
    public let version: String
    public let title: String
    public let file: String
    public let appliesTo: Condition
    /// Where `applies_to` is in the file.
    public let appliesToPosition: SourcePosition?
    /// Highest rank first.
    public let levels: [Level]
    public let rules: [TriageRule]
    /// The rules' conditions alone, for evaluation without copying rules.
    let ruleConditions: [Condition]
    /// Each rule's level index.
    let ruleLevels: [Int]
    /// Each rule's `isAging`.
    let ruleAging: [Bool]
    /// Each rule's `due`.
    let ruleDues: [DueExpression?]
    /// Whether any rule has a `due`.
    let anyDue: Bool
    public let otherwise: String
    /// Flags the policy declares as known though no rule reads them (`flags`: informational ones the case
    /// system sends), so that intake does not refuse them.
    public let declaredFlags: [String]

    /// Every flag intake accepts for this policy's kinds: those its rules read and those it declares.
    public var flagVocabulary: Set<String> {
        rules.reduce(into: Set(declaredFlags)) { $0.formUnion($1.condition.flagsRead) }
    }

    init(
        id: String, version: String, title: String, file: String, appliesTo: Condition,
        appliesToPosition: SourcePosition?, levels: [Level], rules: [TriageRule], ruleConditions: [Condition],
        ruleLevels: [Int], otherwise: String, declaredFlags: [String] = []
    ) {
        self.declaredFlags = declaredFlags
        self.id = id
        self.version = version
        self.title = title
        self.file = file
        self.appliesTo = appliesTo
        self.appliesToPosition = appliesToPosition
        self.levels = levels
        self.rules = rules
        self.ruleConditions = ruleConditions
        self.ruleLevels = ruleLevels
        self.ruleAging = rules.map(\.isAging)
        self.ruleDues = rules.map(\.due)
        self.anyDue = rules.contains { $0.due != nil }
        self.otherwise = otherwise
    }

    public func level(named name: String) -> Level? { levels.first { $0.name == name } }

    /// When a referral at `level` whose rules `matched` (indices) is due: its level's `allocate_within` from
    /// `received` (calendar days in the context's zone), or the earliest `due` of a matched rule when that is
    /// sooner.
    public func due(level: Level, matched: [Int], context: RuleContext) -> Date {
        var due = level.allocateWithin.after(context.referral.received, in: context.timeZone)
        guard anyDue else { return due }
        for i in matched { if let d = ruleDues[i]?.evaluate(context), d < due { due = d } }
        return due
    }
}

/// A rule that matched, with the reason a manager reads.
public struct MatchedRule: Sendable, Hashable, Codable {
    public var id: String
    public var level: String
    public var because: String

    public init(id: String, level: String, because: String) {
        self.id = id
        self.level = level
        self.because = because
    }
}

/// The rating of one referral under one policy at one moment.
public struct TriageResult: Sendable, Hashable {
    public var policy: String
    public var policyVersion: String
    public var level: Level
    /// `received + level.allocateWithin`, or a matched rule's earlier `due`.
    public var due: Date
    /// Every matching rule, in file order, whatever its level.
    public var rules: [MatchedRule]
    /// True when no rule matched and the policy's `otherwise` level applies.
    public var byDefault: Bool
}

extension TriagePolicy {
    /// Evaluates every rule; the referral takes the highest-rank level among the matches (ties: file order),
    /// else `otherwise`.
    public func triage(_ context: RuleContext) -> TriageResult {
        var matched: [MatchedRule] = []
        var indices: [Int] = []
        var best = -1  // index into levels; levels are highest rank first, so a lower index is a higher rank
        for i in rules.indices where rules[i].condition.fn(context) {
            let rule = rules[i]
            matched.append(MatchedRule(id: rule.id, level: rule.level, because: rule.because))
            indices.append(i)
            if best < 0 || rule.levelIndex < best { best = rule.levelIndex }
        }
        let level = best >= 0 ? levels[best] : self.level(named: otherwise)!
        return TriageResult(
            policy: id, policyVersion: version, level: level,
            due: due(level: level, matched: indices, context: context),
            rules: matched, byDefault: best < 0)
    }

    /// Evaluates every rule, writing the indices of those that match into `matched` (cleared first, so one buffer
    /// serves many referrals without allocating), and returns the index into `levels` of the resulting level.
    public func evaluate(_ context: RuleContext, matched: inout [Int]) -> Int {
        matched.removeAll(keepingCapacity: true)
        var best = -1
        for i in ruleConditions.indices where ruleConditions[i].fn(context) {
            matched.append(i)
            if best < 0 || ruleLevels[i] < best { best = ruleLevels[i] }
        }
        return best >= 0 ? best : otherwiseIndex
    }

    /// The index into `levels` of the level the rules in `matched` (indices, as `evaluate` gives them) reach
    /// without aging rules: the referral's level on its risk alone (`otherwise` when only aging rules matched).
    public func riskLevel(matched: [Int]) -> Int {
        var best = -1
        for i in matched where !ruleAging[i] && (best < 0 || ruleLevels[i] < best) { best = ruleLevels[i] }
        return best >= 0 ? best : otherwiseIndex
    }

    /// Index of `otherwise` in `levels`.
    public var otherwiseIndex: Int { levels.firstIndex { $0.name == otherwise }! }

    /// Counts the rules that match, without building a result: the benchmark's unit of work.
    public func countMatches(_ context: RuleContext) -> Int {
        var n = 0
        for i in ruleConditions.indices where ruleConditions[i].fn(context) { n += 1 }
        return n
    }
}

extension TriagePolicy {
    /// Reads one triage policy file; nil when it cannot be used at all.
    static func parse(_ text: String, file: String, sink: DiagnosticSink) -> TriagePolicy? {
        guard let root = NodeDecoding.parse(text, sink: sink),
            let o = ObjectFields(root, what: "the triage policy", sink: sink)
        else { return nil }
        let id = o.string("id", required: true)
        if let id, !ReferralDecoder.isValidID(id) {
            sink.error(o.node("id")!.position, "policy id '\(id)' must be 1-64 characters of A-Z a-z 0-9 . _ : / -")
        }
        let version = o.string("version", required: true)
        let title = o.string("title") ?? id ?? ""
        let appliesTo = condition(o, "applies_to", scope: .appliesTo, sink: sink, required: true)

        var levels: [Level] = []
        if let n = o.node("levels", required: true) {
            if case .array(let items) = n.value, !items.isEmpty {
                for item in items {
                    guard let lo = ObjectFields(item, what: "a level", sink: sink) else { continue }
                    let name = lo.string("name", required: true)
                    let rank = lo.integer("rank", required: true, in: 1...1000)
                    let parsedWithin = lo.duration("allocate_within", required: true)
                    let review = lo.duration("review_every")
                    lo.finish()
                    // A level with a bad duration is kept (with a placeholder) so rules naming it do not cascade errors.
                    guard let name, let rank else { continue }
                    let within = parsedWithin ?? Duration(0, .seconds)
                    if !ReferralDecoder.isValidFlag(name) {
                        sink.error(
                            lo.node("name")!.position, "level name '\(name)' must be lower-case letters, digits and _")
                    }
                    if levels.contains(where: { $0.name == name }) {
                        sink.error(lo.node("name")!.position, "duplicate level '\(name)'")
                    } else if let other = levels.first(where: { $0.rank == rank }) {
                        sink.error(
                            lo.node("rank")!.position, "level '\(name)' has the same rank \(rank) as '\(other.name)'")
                    } else if let previous = levels.last, previous.rank < rank {
                        sink.error(
                            lo.node("rank")!.position,
                            "levels must be listed highest rank first: '\(name)' (rank \(rank)) comes after '\(previous.name)' (rank \(previous.rank))"
                        )
                    }
                    levels.append(Level(name: name, rank: rank, allocateWithin: within, reviewEvery: review))
                }
            } else {
                sink.error(n.position, "'levels' must be a non-empty list")
            }
        }
        var levelNames: [String] = []
        for l in levels where !levelNames.contains(l.name) { levelNames.append(l.name) }
        func checkLevel(_ name: String, at position: SourcePosition) -> Bool {
            guard levelNames.contains(name) else {
                var message = "unknown level '\(name)'"
                if let guess = closestMatch(name, in: levelNames) {
                    message += "; did you mean '\(guess)'?"
                } else if !levelNames.isEmpty {
                    message += "; the levels are \(levelNames.joined(separator: ", "))"
                }
                sink.error(position, message)
                return false
            }
            return true
        }

        var rules: [TriageRule] = []
        var ruleIDs: [String: SourcePosition] = [:]
        if let n = o.node("rules", required: true) {
            if case .array(let items) = n.value {
                for item in items {
                    guard let ro = ObjectFields(item, what: "a rule", sink: sink) else { continue }
                    let rid = ro.string("id", required: true)
                    let level = ro.string("level", required: true)
                    let when = condition(ro, "when", scope: .triage, sink: sink, required: true)
                    let because = ro.string("because", required: true)
                    let due = dueExpression(ro, sink: sink)
                    ro.finish()
                    if let rid {
                        if !ReferralDecoder.isValidID(rid) {
                            sink.error(
                                ro.node("id")!.position,
                                "rule id '\(rid)' must be 1-64 characters of A-Z a-z 0-9 . _ : / -")
                        }
                        if let first = ruleIDs[rid] {
                            sink.error(
                                ro.node("id")!.position, "duplicate rule id '\(rid)' (first at line \(first.line))")
                        } else {
                            ruleIDs[rid] = ro.node("id")!.position
                        }
                    }
                    if let because, because.trimmingCharacters(in: .whitespaces).isEmpty {
                        sink.error(ro.node("because")!.position, "'because' must say why, for the manager who reads it")
                    }
                    var levelOK = false
                    if let level { levelOK = checkLevel(level, at: ro.node("level")!.position) }
                    if let rid, let level, levelOK, let when, let because {
                        rules.append(
                            TriageRule(
                                id: rid, level: level, levelIndex: levels.firstIndex { $0.name == level }!,
                                condition: when, because: because, position: ro.node("when")!.position, due: due))
                    }
                }
            } else {
                sink.error(n.position, "'rules' must be a list, not \(n.typeName)")
            }
        }
        let otherwise = o.string("otherwise", required: true)
        if let otherwise { _ = checkLevel(otherwise, at: o.node("otherwise")!.position) }
        let declared = o.strings("flags") ?? []
        for flag in declared where !ReferralDecoder.isValidFlag(flag) {
            sink.error(o.node("flags")!.position, "flag '\(flag)' must be lower-case letters, digits and _")
        }
        o.finish()
        guard let id, let version, let appliesTo, !levels.isEmpty, let otherwise, !sink.hasErrors else { return nil }
        return TriagePolicy(
            id: id, version: version, title: title, file: file, appliesTo: appliesTo,
            appliesToPosition: o.node("applies_to")?.position, levels: levels, rules: rules,
            ruleConditions: rules.map(\.condition), ruleLevels: rules.map(\.levelIndex), otherwise: otherwise,
            declaredFlags: declared)
    }

    /// Compiles a rule's `due` date, reporting errors at the offending character in the file.
    static func dueExpression(_ o: ObjectFields, sink: DiagnosticSink) -> DueExpression? {
        guard let node = o.node("due") else { return nil }
        guard case .string(let text) = node.value else {
            sink.error(node.position, "'due' must be a date expression in a string, not \(node.typeName)")
            return nil
        }
        do {
            return try DueExpression(text, scope: .triage)
        } catch {
            sink.error(node.position(ofByte: error.offset), error.message)
            return nil
        }
    }

    /// Compiles the expression in string member `key`, reporting errors at the offending character in the file.
    static func condition(
        _ o: ObjectFields, _ key: String, scope: RuleScope, sink: DiagnosticSink, required: Bool
    ) -> Condition? {
        guard let node = o.node(key, required: required) else { return nil }
        guard case .string(let text) = node.value else {
            sink.error(node.position, "'\(key)' must be an expression in a string, not \(node.typeName)")
            return nil
        }
        do {
            return try Condition(text, scope: scope)
        } catch {
            sink.error(node.position(ofByte: error.offset), error.message)
            return nil
        }
    }
}

import DutyCore
import Foundation

/// What a rule sees of a worker (allocation policy only).
public struct WorkerView: Sendable {
    public var id: String
    public var role: String
    public var skills: [String]
    public var experience: Int
    public var asye: Bool
    /// Caseload points currently held.
    public var load: Double
    public var capacity: Double

    public init(worker: Worker, load: Double) {
        id = worker.id
        role = worker.role
        skills = worker.skills
        experience = worker.experience
        asye = worker.asye
        self.load = load
        capacity = worker.capacity
    }
}

/// The values a rule is evaluated against: one referral at one moment, and for allocation rules one worker.
///
/// A class, so that compiled rules receive one reference rather than a copy of the referral: evaluation is the
/// engine's hot path. Each evaluator makes its own; none is shared between threads.
public final class RuleContext {
    public let referral: Referral
    /// `waiting`: seconds from `received` to now.
    public let waiting: Int64
    /// The moment of evaluation: `now` in rules.
    public let now: Date
    /// The council's zone: days and weeks compared with `waiting` or dates are calendar days in it.
    public let timeZone: TimeZone
    /// The worker being considered (allocation rules); changed as the allocator walks a team.
    public var worker: WorkerView?
    /// The engine's rule-cache class for this referral (-1: none).
    public var ruleClass = -1

    public init(referral: Referral, now: Date, timeZone: TimeZone = .utc, worker: WorkerView? = nil) {
        self.referral = referral
        self.now = now
        self.timeZone = timeZone
        self.waiting = Int64((now.timeIntervalSince(referral.received)).rounded(.down))
        self.worker = worker
    }
}

/// A value during evaluation of a fact-dependent (dynamically typed) expression.
enum RuntimeValue: Equatable, Sendable {
    case missing
    case bool(Bool)
    case number(Double)
    case string(String)
    case duration(Int64)
    /// Seconds since 1970.
    case date(Double)
    case list([RuntimeValue])

    init(_ fact: FactValue?) {
        switch fact {
        case nil: self = .missing
        case .string(let s): self = .string(s)
        case .number(let n): self = .number(n)
        case .bool(let b): self = .bool(b)
        }
    }
}

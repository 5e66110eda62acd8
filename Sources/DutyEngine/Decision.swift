import DutyCore
import Foundation

/// Why a waiting referral could not be allocated (SPEC "Events", `allocation.blocked`).
public enum BlockReason: String, Sendable, Hashable {
    /// Nobody in the team passes the skills and eligibility rules (or the team has no workers).
    case noEligibleWorker = "no_eligible_worker"
    /// Someone present would pass, but nobody has the capacity.
    case noCapacity = "no_capacity"
    /// Everyone in the team is absent now or leaving within the level's look-ahead.
    case allAbsent = "all_absent"
}

public enum EscalationReason: String, Sendable, Hashable {
    case ackOverdue = "ack_overdue"
    case unallocatedOverdue = "unallocated_overdue"
    case noManagerAvailable = "no_manager_available"
    /// The worker it was allocated to is no longer in the roster: it waits again, and its manager is told.
    case workerRemoved = "worker_removed"
}

/// What excluded a worker from a referral, checked in this order; the first that fails is recorded.
public enum Exclusion: Sendable, Hashable, CustomStringConvertible {
    /// For `reserved`: the referral the worker's room is held for.
    public var heldFor: String? {
        if case .reserved(let id) = self { id } else { nil }
    }

    case absent
    /// An absence starts within the level's `absence_lookahead`.
    case leavingSoon
    case capacity
    case skills
    /// An `eligible` rule of the allocation policy, by id.
    case rule(String)
    /// Eligible, but the worker's room is held for the referral named, which comes earlier in the allocation
    /// order and is blocked for lack of room (a reservation, as in Slurm's backfill).
    case reserved(String)
    /// A manager took this referral back from this worker (`override.unassigned`): the engine does not give it
    /// back to them; only a manager's `assign` can.
    case unassigned

    public var description: String {
        switch self {
        case .absent: "absent"
        case .leavingSoon: "absence_lookahead"
        case .capacity: "capacity"
        case .skills: "skills"
        case .rule(let id): id
        case .reserved: "reserved"
        case .unassigned: "unassigned"
        }
    }
}

/// The parts of a worker's score for a referral: the `prefer` weights times each factor.
public struct ScoreParts: Sendable, Hashable {
    public var continuity: Double
    public var leastLoaded: Double
    public var specialism: Double

    public var total: Double { continuity + leastLoaded + specialism }

    var json: JSONValue {
        .object([
            ("continuity", .number(continuity)), ("least_loaded", .number(leastLoaded)),
            ("specialism", .number(specialism)),
        ])
    }
}

/// One worker considered for a referral: eligible with a score, or excluded with the first check it failed.
public struct Candidate: Sendable, Hashable {
    public var worker: String
    public var parts: ScoreParts?
    public var excludedBy: Exclusion?
    /// For a `capacity` exclusion: the worker's load and capacity, and the points the referral needs free (its
    /// points, plus any headroom), so a manager sees by how much it does not fit.
    public var room: (load: Double, capacity: Double, need: Double)?

    public init(
        worker: String, parts: ScoreParts?, excludedBy: Exclusion?,
        room: (load: Double, capacity: Double, need: Double)? = nil
    ) {
        self.worker = worker
        self.parts = parts
        self.excludedBy = excludedBy
        self.room = room
    }

    public static func == (a: Candidate, b: Candidate) -> Bool {
        a.worker == b.worker && a.parts == b.parts && a.excludedBy == b.excludedBy
            && a.room.map { [$0.load, $0.capacity, $0.need] } == b.room.map { [$0.load, $0.capacity, $0.need] }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(worker)
        hasher.combine(excludedBy)
    }

    public var eligible: Bool { excludedBy == nil }
    public var score: Double? { parts?.total }

    public var json: JSONValue {
        .object(
            [
                ("worker", .string(worker)), ("eligible", .bool(eligible)),
                ("score", score.map { .number($0) } ?? .null),
                ("parts", parts?.json ?? .null), ("excluded_by", .string(excludedBy?.description)),
                ("held_for", .string(excludedBy?.heldFor)),
            ]
                + (room.map {
                    [
                        ("load", .number($0.load)), ("capacity", .number($0.capacity)),
                        ("points_needed", .number($0.need)),
                    ]
                } ?? []))
    }
}

/// The accountable manager for a team at a moment: the first present person in the chain.
public struct Accountable: Sendable, Hashable {
    /// Nil when nobody in the chain is present.
    public var manager: String?
    /// Index of `manager` in the chain (the chain's length when nobody is present).
    public var position: Int
    /// True when the manager is not the team manager.
    public var fallback: Bool
    /// `manager_absent`, `no_team_manager` or `no_manager_available`; nil when not a fallback.
    public var fallbackReason: String?
    /// Chain members skipped because they are absent.
    public var skipped: [String]
}

public struct AssignmentDecision: Sendable {
    public var referral: String
    public var worker: String
    public var level: String
    public var rank: Int
    public var points: Double
    public var accountable: Accountable
    public var parts: ScoreParts
    /// Every worker of the team, in worker id order.
    public var candidates: [Candidate]
    /// Set when this assignment moved a referral assigned earlier in the same cycle to another worker, to make room
    /// for a referral that ranks at least as high (an augmenting path).
    public var moved: String?
}

public struct EscalationDecision: Sendable, Hashable {
    public var referral: String
    public var reason: EscalationReason
    /// Nil when nobody is left to escalate to.
    public var to: String?
    /// Index of `to` in the accountable chain (the chain's length when nobody).
    public var position: Int
    /// Since when the cause has run: the allocation time for acks, `received` for waits.
    public var since: Date
}

/// A waiting referral whose `review_every` has passed since it was last reviewed (or received).
public struct ReviewDue: Sendable, Hashable {
    public var referral: String
    public var due: Date
    public var manager: String?
}

/// One decision of a cycle; the store turns each into one event.
public enum Decision: Sendable {
    indirect case rated(referral: String, rating: Rating, explanation: [String])
    indirect case rerated(referral: String, from: Rating, to: Rating, pinRaised: Bool)
    indirect case assigned(AssignmentDecision)
    /// `held`: the worker whose room is held for this referral (`reservations`), or nil.
    case blocked(referral: String, reason: BlockReason, excluded: [(String, Int)], candidates: Int, held: String?)
    case escalated(EscalationDecision)

    public var referral: String {
        switch self {
        case .rated(let r, _, _), .rerated(let r, _, _, _), .blocked(let r, _, _, _, _): r
        case .assigned(let a): a.referral
        case .escalated(let e): e.referral
        }
    }

    /// The event type (SPEC "Events").
    public var eventType: String {
        switch self {
        case .rated: "triage.rated"
        case .rerated: "triage.rerated"
        case .assigned: "allocation.assigned"
        case .blocked: "allocation.blocked"
        case .escalated: "escalation.raised"
        }
    }

    /// The event's data object.
    public var eventData: JSONValue {
        func rating(_ r: Rating) -> [(String, JSONValue)] {
            [
                ("policy", .string(r.policy)), ("policy_version", .string(r.policyVersion)),
                ("level", .string(r.level)),
                ("rank", .int(Int64(r.rank))), ("rules", .strings(r.rules)), ("due", .time(r.due)),
            ]
        }
        switch self {
        case .rated(_, let r, _):
            return .object(rating(r))
        case .rerated(_, let from, let to, let pinRaised):
            return .object(rating(to) + [("from", .string(from.level)), ("pin_raised", .bool(pinRaised))])
        case .assigned(let a):
            return .object([
                ("worker", .string(a.worker)), ("manager", .string(a.accountable.manager)),
                ("fallback", .bool(a.accountable.fallback)), ("fallback_reason", .string(a.accountable.fallbackReason)),
                ("chain_position", .int(Int64(a.accountable.position))), ("skipped", .strings(a.accountable.skipped)),
                ("level", .string(a.level)), ("rank", .int(Int64(a.rank))), ("points", .number(a.points)),
                ("score", .number(a.parts.total)), ("parts", a.parts.json), ("moved", .string(a.moved)),
                ("candidates", .array(a.candidates.map(\.json))),
            ])
        case .blocked(_, let reason, let excluded, let candidates, let held):
            return .object([
                ("reason", .string(reason.rawValue)), ("candidates", .int(Int64(candidates))),
                ("excluded", .object(excluded.map { ($0.0, .int(Int64($0.1))) })), ("held_on", .string(held)),
            ])
        case .escalated(let e):
            return .object([
                ("reason", .string(e.reason.rawValue)), ("to", .string(e.to)),
                ("chain_position", .int(Int64(e.position))),
                ("since", .time(e.since)),
            ])
        }
    }
}

/// The output of one cycle: decisions in a fixed order, and the reviews due.
public struct Plan: Sendable {
    public var decisions: [Decision]
    public var reviewsDue: [ReviewDue]
    /// Teams whose capacity alert is raised or cleared in this cycle, in team order.
    public var alerts: [CapacityAlert] = []
    /// The time the plan was made for.
    public var now = Date(timeIntervalSince1970: 0)
    /// For each decision, and for each review due, the index of its referral in the snapshot the plan was made
    /// from: what lets the simulator and `Snapshot.apply` find it without looking ids up.
    public var positions: [Int] = []
    public var reviewPositions: [Int] = []

    public var isEmpty: Bool { decisions.isEmpty }
}

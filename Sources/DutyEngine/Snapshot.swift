import DutyCore
import DutyPolicy
import Foundation

/// A referral's current rating: what the last `triage.rated` / `triage.rerated` recorded.
public struct Rating: Sendable, Hashable {
    public var policy: String
    public var policyVersion: String
    public var level: String
    public var rank: Int
    /// Ids of the rules that matched, in file order.
    public var rules: [String]
    public var due: Date

    public init(policy: String, policyVersion: String, level: String, rank: Int, rules: [String], due: Date) {
        self.policy = policy
        self.policyVersion = policyVersion
        self.level = level
        self.rank = rank
        self.rules = rules
        self.due = due
    }
}

/// A manager's `rerate`: the level is held here until cleared, or until the policy level rises above both the
/// pin and the policy level when it was pinned.
public struct Pin: Sendable, Hashable {
    public var level: String
    public var rank: Int
    /// The policy's rank for the referral when the pin was set.
    public var policyRank: Int

    public init(level: String, rank: Int, policyRank: Int) {
        self.level = level
        self.rank = rank
        self.policyRank = policyRank
    }
}

/// Who a referral is allocated to, since when, and whether the accountable chain has acknowledged it.
public struct AllocationRecord: Sendable, Hashable {
    public var worker: String
    /// The accountable manager; nil when nobody in the chain was present.
    public var manager: String?
    public var at: Date
    public var acknowledged: Date?

    public init(worker: String, manager: String?, at: Date, acknowledged: Date? = nil) {
        self.worker = worker
        self.manager = manager
        self.at = at
        self.acknowledged = acknowledged
    }
}

/// An open referral as the engine sees it: waiting when `allocation` is nil.
public struct OpenReferral: Sendable {
    public var referral: Referral
    public var rating: Rating?
    /// New or updated since the last cycle: rated now even when allocated.
    public var needsRating: Bool
    public var pin: Pin?
    public var allocation: AllocationRecord?
    /// The last `allocation.blocked` reason, so a block is logged once per change of reason.
    public var blocked: BlockReason?
    /// The worker whose room the last `allocation.blocked` held for this referral (`held_on`), if any.
    public var heldOn: String?
    /// The last `review.recorded`.
    public var lastReview: Date?
    /// The worker a manager last took it back from (`override.unassigned`): not given back to them.
    public var unassignedFrom: String?

    public init(
        referral: Referral, rating: Rating? = nil, needsRating: Bool = false, pin: Pin? = nil,
        allocation: AllocationRecord? = nil, blocked: BlockReason? = nil, heldOn: String? = nil,
        lastReview: Date? = nil, unassignedFrom: String? = nil
    ) {
        self.unassignedFrom = unassignedFrom
        self.referral = referral
        self.rating = rating
        self.needsRating = needsRating
        self.pin = pin
        self.allocation = allocation
        self.blocked = blocked
        self.heldOn = heldOn
        self.lastReview = lastReview
    }

    public var isWaiting: Bool { allocation == nil }
}

/// An escalation already raised: each is raised once per referral, cause and chain position.
public struct EscalationKey: Sendable, Hashable, Comparable {
    public var referral: String
    public var reason: EscalationReason
    public var position: Int

    /// The key of a referral's escalations for one cause, whatever the step: `Snapshot.lastStep`'s.
    public static func step(referral: String, reason: EscalationReason) -> String {
        referral + "\u{0}" + reason.rawValue
    }

    public init(referral: String, reason: EscalationReason, position: Int) {
        self.referral = referral
        self.reason = reason
        self.position = position
    }

    public static func < (a: EscalationKey, b: EscalationKey) -> Bool {
        (a.referral, a.reason.rawValue, a.position) < (b.referral, b.reason.rawValue, b.position)
    }

    /// By hand: the derived hash would hash the reason's raw value, a second string, on every lookup.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(referral)
        hasher.combine(position)
        switch reason {
        case .ackOverdue: hasher.combine(0)
        case .unallocatedOverdue: hasher.combine(1)
        case .noManagerAvailable: hasher.combine(2)
        case .workerRemoved: hasher.combine(3)
        }
    }
}

/// Everything the engine needs for one cycle. The engine reads it and returns decisions; it never changes it.
public struct Snapshot: Sendable {
    /// Open referrals, waiting and allocated.
    public var referrals: [OpenReferral]
    public var roster: Roster
    public var absences: [Absence]
    public var policies: PolicySet
    /// The worker who last worked with each person, for continuity.
    public var lastWorker: [String: String]
    public var escalations: Set<EscalationKey>
    /// Teams with a `capacity.exceeded` alert standing.
    public var capacityAlerts: Set<String> = []
    /// When the latest step was raised, by `EscalationKey.step(referral:reason:)`: the next step waits at least
    /// one step interval after it.
    public var lastStep: [String: Date] = [:]

    public init(
        referrals: [OpenReferral], roster: Roster, absences: [Absence], policies: PolicySet,
        lastWorker: [String: String] = [:], escalations: Set<EscalationKey> = []
    ) {
        self.referrals = referrals
        self.roster = roster
        self.absences = absences
        self.policies = policies
        self.lastWorker = lastWorker
        self.escalations = escalations
    }
}

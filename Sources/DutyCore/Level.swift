import Foundation

/// A priority level of a triage policy: `red`/`amber`/`green`, `high`/`medium`/`low`, `p1`...
public struct Level: Sendable, Hashable {
    public var name: String
    /// Higher rank is allocated first.
    public var rank: Int
    /// Target time from `received` to allocation; `received + allocateWithin` is the referral's due time.
    public var allocateWithin: Duration
    /// How often someone waiting at this level must be reviewed (re-contacted, re-screened).
    public var reviewEvery: Duration?

    public init(name: String, rank: Int, allocateWithin: Duration, reviewEvery: Duration? = nil) {
        self.name = name
        self.rank = rank
        self.allocateWithin = allocateWithin
        self.reviewEvery = reviewEvery
    }
}

/// A period when a worker is away. It covers `from <= t < to`.
public struct Absence: Sendable, Hashable, Identifiable {
    public var id: String
    public var worker: String
    public var from: Date
    public var to: Date
    public var reason: String?

    public init(id: String, worker: String, from: Date, to: Date, reason: String? = nil) {
        self.id = id
        self.worker = worker
        self.from = from
        self.to = to
        self.reason = reason
    }

    /// Whether the absence covers the instant `t`.
    public func covers(_ t: Date) -> Bool { from <= t && t < to }

    /// Whether any part of the absence falls in `[start, end)`.
    public func overlaps(_ start: Date, _ end: Date) -> Bool { from < end && start < to }
}

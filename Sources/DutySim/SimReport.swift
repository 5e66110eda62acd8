import DutyCore
import Foundation

/// Counts by a handful of keys (levels, kinds), for the daily samples: comparing a few short strings is cheaper
/// than hashing one for every waiting referral every day.
struct Tally {
    private var keys = NameTable()
    private var counts: [Int] = []

    mutating func add(_ key: String) {
        if let k = keys.position(of: key) {
            counts[k] += 1
        } else {
            keys.append(key)
            counts.append(1)
        }
    }

    var dictionary: [String: Int] { Dictionary(uniqueKeysWithValues: zip(keys.names, counts)) }
}

/// The results of one run.
public struct SimReport: Sendable {
    public struct Group: Sendable {
        public var key: String
        public var arrivals = 0
        public var allocated = 0
        public var waits: [Double] = []  // days from received to allocation
        public var withinTimescale = 0
        public var peakWaiting = 0
        public var finalWaiting = 0
        public var reviewsDue = 0
        public var reviewsOnTime = 0
        public var fallbacks = 0
        public var closed = 0
        /// Kinds: the longest anyone still waiting at the end had waited, in days (nil when nobody waits).
        public var maxAgeWaiting: Double?
        /// Kinds: how long each referral still waiting at the end had waited, in days.
        public var agesWaiting: [Double] = []
        /// Kinds: waiting when the run started (the scenario's `backlog`).
        public var backlog = 0
        /// Kinds: the scenario's `target_days`, and how many allocations came within it.
        public var targetDays: Double?
        public var withinTarget = 0

        /// The median of `agesWaiting` (the figure CQC reports for a waiting list), nil when nobody waits.
        public var medianAgeWaiting: Double? { SimReport.median(agesWaiting) }

        public func percentile(_ p: Double) -> Double? {
            guard !waits.isEmpty else { return nil }
            let sorted = waits.sorted()
            return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
        }
    }

    /// Referrals of one kind at one level when first rated (the level at referral, before any aging), and how
    /// they fared: what shows whether the highest risk is seen first.
    public struct KindLevel: Sendable {
        public var kind: String
        public var level: String
        /// The level's rank, for ordering.
        public var rank: Int
        /// Rated at this level when they arrived.
        public var arrivals = 0
        public var allocated = 0
        /// Days from received to allocation.
        public var waits: [Double] = []
        /// Allocated by the due time they had at referral.
        public var withinTimescale = 0
        /// Still waiting at the end and past the due time they had at referral: late, though not yet allocated.
        public var lateWaiting = 0
        /// The longest anyone of them still waiting at the end had waited, in days.
        public var maxAgeWaiting: Double?

        /// Allocated within the timescale of their level at referral, as a share of those whose timescale has run
        /// out or who were allocated (nil when none).
        public var withinTimescalePct: Double? {
            let decided = allocated + lateWaiting
            return decided == 0 ? nil : 100 * Double(withinTimescale) / Double(decided)
        }

        public func percentile(_ p: Double) -> Double? {
            guard !waits.isEmpty else { return nil }
            let sorted = waits.sorted()
            return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
        }
    }

    /// A team's caseload over the run: `loadRatio` is the points x work days of everything that arrived over
    /// the points its workers can hold for the days run (above 1, only more staff or less work can keep up);
    /// `utilisationPct` is the mean, over daily samples, of points allocated as a share of that capacity.
    public struct TeamResult: Sendable {
        public var team: String
        public var capacityPoints: Double
        public var loadRatio: Double?
        public var utilisationPct: Double?
    }

    public var scenario: String
    public var policies: String
    /// The baseline run instead of the policies' allocation order, if any.
    public var baseline: Baseline?
    public var seed: UInt64
    public var days: Int
    public var cycles: Int
    public var byKind: [Group]
    public var byLevel: [Group]
    /// By kind and level at referral, kinds in name order, levels highest rank first.
    public var byKindLevel: [KindLevel] = []
    public var escalations: [(String, Int)]
    /// Daily samples: day index, then waiting count per level name; and per kind.
    public var series: [(Int, [String: Int])]
    public var kindSeries: [(Int, [String: Int])]
    /// Daily samples by kind and level (`kind\tlevel`): one chart per team, its own levels.
    public var kindLevelSeries: [(Int, [String: Int])] = []
    public var levelOrder: [String]
    public var seconds: Double
    /// Conservation: arrivals == allocated-and-closed + allocated-and-open + waiting at the end.
    public var arrivals: Int
    public var waitingAtEnd: Int
    public var openAllocatedAtEnd: Int
    public var closedAtEnd: Int
    /// Councils added up in this report (1 for a single council).
    public var councils = 1
    /// Waiting when the run started (conservation: arrivals + backlog == closed + allocated-open + waiting).
    public var backlog = 0
    /// Allocations acknowledged by a manager in the run.
    public var acknowledged = 0
    /// By team, in id order.
    public var teams: [TeamResult] = []
    /// Messages sent (one per recipient per cycle with anything to send), per person per working day.
    public var sends = Sends()

    /// What managers are sent: per recipient, messages on each working day of the run.
    public struct Sends: Sendable {
        public struct Recipient: Sendable {
            public var id: String
            public var role: String
            public var total = 0
            /// Messages on each working day, zero days included.
            public var perDay: [Int] = []

            public var median: Double { SimReport.median(perDay.map(Double.init)) ?? 0 }
            public var max: Int { perDay.max() ?? 0 }
        }

        public var recipients: [Recipient] = []
        /// Messages with nobody present to send them to.
        public var toNobody = 0

        /// Over managers (anyone sent something): the median of their daily medians, and the most any one had on
        /// any day.
        public var managerMedian: Double { SimReport.median(recipients.map(\.median)) ?? 0 }
        public var managerMax: Int { recipients.map(\.max).max() ?? 0 }
        /// The head of service's median messages a working day (the largest, if several).
        public var headOfServiceMedian: Double {
            recipients.filter { $0.role == "head_of_service" }.map(\.median).max() ?? 0
        }
    }

    static func median(_ xs: [Double]) -> Double? { DutyCore.median(sorted: xs.sorted()) }

    /// The longest any referral waited, in days: allocated (from received to allocation) or still waiting at the
    /// end. Nil when nothing arrived.
    public var longestWait: Double? {
        (byKind.compactMap { $0.waits.max() } + byKind.compactMap(\.maxAgeWaiting)).max()
    }

    /// Councils' reports added up: counts summed, waits pooled, the daily series summed day by day and the peaks
    /// taken from the summed series (the most waiting on any one day across all councils, not a sum of peaks).
    static func merged(_ parts: [SimReport], seconds: Double) -> SimReport {
        var total = parts[0]
        func add(_ groups: inout [Group], _ more: [Group]) {
            for g in more {
                if let i = groups.firstIndex(where: { $0.key == g.key }) {
                    groups[i].arrivals += g.arrivals
                    groups[i].allocated += g.allocated
                    groups[i].waits += g.waits
                    groups[i].withinTimescale += g.withinTimescale
                    groups[i].finalWaiting += g.finalWaiting
                    groups[i].reviewsDue += g.reviewsDue
                    groups[i].reviewsOnTime += g.reviewsOnTime
                    groups[i].fallbacks += g.fallbacks
                    groups[i].closed += g.closed
                    groups[i].maxAgeWaiting = [groups[i].maxAgeWaiting, g.maxAgeWaiting].compactMap { $0 }.max()
                    groups[i].agesWaiting += g.agesWaiting
                    groups[i].backlog += g.backlog
                    groups[i].withinTarget += g.withinTarget
                } else {
                    groups.append(g)
                }
            }
        }
        func sum(_ a: inout [(Int, [String: Int])], _ b: [(Int, [String: Int])]) {
            for (i, sample) in b.enumerated() where i < a.count {
                a[i].1.merge(sample.1, uniquingKeysWith: +)
            }
        }
        var escalations = Dictionary(uniqueKeysWithValues: total.escalations)
        for part in parts.dropFirst() {
            for g in part.byKindLevel {
                guard let i = total.byKindLevel.firstIndex(where: { $0.kind == g.kind && $0.level == g.level }) else {
                    total.byKindLevel.append(g)
                    continue
                }
                total.byKindLevel[i].arrivals += g.arrivals
                total.byKindLevel[i].allocated += g.allocated
                total.byKindLevel[i].waits += g.waits
                total.byKindLevel[i].withinTimescale += g.withinTimescale
                total.byKindLevel[i].lateWaiting += g.lateWaiting
                total.byKindLevel[i].maxAgeWaiting =
                    [total.byKindLevel[i].maxAgeWaiting, g.maxAgeWaiting].compactMap { $0 }.max()
            }
            add(&total.byKind, part.byKind)
            add(&total.byLevel, part.byLevel)
            sum(&total.series, part.series)
            sum(&total.kindSeries, part.kindSeries)
            sum(&total.kindLevelSeries, part.kindLevelSeries)
            escalations.merge(part.escalations, uniquingKeysWith: +)
            total.arrivals += part.arrivals
            total.waitingAtEnd += part.waitingAtEnd
            total.openAllocatedAtEnd += part.openAllocatedAtEnd
            total.closedAtEnd += part.closedAtEnd
            total.backlog += part.backlog
            total.sends.recipients += part.sends.recipients
            total.sends.toNobody += part.sends.toNobody
            total.acknowledged += part.acknowledged
            for t in part.teams {
                guard let i = total.teams.firstIndex(where: { $0.team == t.team }) else {
                    total.teams.append(t)
                    continue
                }
                // Capacity-weighted means: the councils' load ratios and utilisation pooled.
                let (a, b) = (total.teams[i].capacityPoints, t.capacityPoints)
                func pool(_ x: Double?, _ y: Double?) -> Double? {
                    guard let x, let y, a + b > 0 else { return x ?? y }
                    return (x * a + y * b) / (a + b)
                }
                total.teams[i].loadRatio = pool(total.teams[i].loadRatio, t.loadRatio)
                total.teams[i].utilisationPct = pool(total.teams[i].utilisationPct, t.utilisationPct)
                total.teams[i].capacityPoints = a + b
            }
        }
        func peaks(_ groups: inout [Group], _ series: [(Int, [String: Int])]) {
            for i in groups.indices {
                groups[i].peakWaiting = series.map { $0.1[groups[i].key] ?? 0 }.max() ?? 0
                groups[i].waits.sort()
            }
        }
        peaks(&total.byKind, total.kindSeries)
        peaks(&total.byLevel, total.series)
        total.byKind.sort { $0.key < $1.key }
        total.byKindLevel.sort { ($0.kind, -$0.rank) < ($1.kind, -$1.rank) }
        total.byLevel.sort { a, b in
            (total.levelOrder.firstIndex(of: a.key) ?? .max) < (total.levelOrder.firstIndex(of: b.key) ?? .max)
        }
        total.escalations = escalations.sorted { $0.key < $1.key }
        total.councils = parts.count
        total.seconds = seconds
        return total
    }
}

/// What councils do now, run on the same arrivals, absences and staff as the policies, for comparison
/// (`duty simulate --baseline`). Both take work in the order received, with the same eligibility rules and
/// preferences and no reservations; ratings are still given, so that the report can score them by level.
public enum Baseline: String, Sendable, CaseIterable {
    /// First come, first served, at every cycle.
    case fcfs
    /// A weekly allocation meeting: one cycle a week, on the first working day, taking work in the order received.
    case weekly
}

import DutyCore
import DutyPolicy
import Foundation

/// A team whose waiting work no longer fits the room its present workers have: one team-level alert
/// (`capacity.exceeded`) instead of an escalation per referral asking a manager for room that does not exist,
/// and `capacity.recovered` when it fits again. While it stands, `unallocated_overdue` escalations below the top
/// rank are still logged but not sent (`Digest.group`).
public struct CapacityAlert: Sendable, Equatable {
    public var team: String
    /// True: raised; false: recovered.
    public var exceeded: Bool
    /// Points of the team's referrals still waiting after this cycle's allocation, overdue ones among them.
    public var waitingPoints: Double
    public var overduePoints: Double
    /// Points free on the team's present workers after this cycle's allocation.
    public var freePoints: Double
    /// Workers of the team's mean caseload capacity it would take to make room for what is overdue.
    public var posts: Int

    public var eventType: String { exceeded ? "capacity.exceeded" : "capacity.recovered" }

    public var eventData: JSONValue {
        .object([
            ("team", .string(team)), ("waiting_points", .number(waitingPoints)),
            ("overdue_points", .number(overduePoints)), ("free_points", .number(freePoints)),
            ("posts", .int(Int64(posts))),
        ])
    }
}

extension Allocator {
    /// After allocation: the teams whose alert changes. A team is over capacity when work past its due time waits
    /// and more points wait than its present workers have free; it recovers when neither holds.
    func capacityAlerts(standing: Set<String>) -> [CapacityAlert] {
        var waiting = [Double](repeating: 0, count: teams.count)
        var overdue = [Double](repeating: 0, count: teams.count)
        let refs = snapshot.referrals
        let t = now.timeIntervalSince1970
        for i in refs.indices where refs[i].allocation == nil && !assignedThisCycle[i] {
            let team = refTeam[i]
            guard team >= 0, ratings.rank[i] != nil else { continue }
            waiting[team] += refPoints[i]
            if ratings.due[i] < t { overdue[team] += refPoints[i] }
        }
        var out: [CapacityAlert] = []
        for (k, team) in teams.enumerated() {
            let caseworkers = team.workers.filter { views[$0].capacity > 0 }
            let free = caseworkers.filter { !presence.isAbsent(workerIDs[$0]) }.reduce(0.0) {
                $0 + max(0, views[$1].capacity - views[$1].load)
            }
            let id = teamName(k)
            let exceeded = overdue[k] > 0 && waiting[k] > free
            guard exceeded != standing.contains(id) else { continue }
            let mean =
                caseworkers.isEmpty
                ? 1 : caseworkers.reduce(0.0) { $0 + views[$1].capacity } / Double(caseworkers.count)
            out.append(
                CapacityAlert(
                    team: id, exceeded: exceeded, waitingPoints: waiting[k], overduePoints: overdue[k],
                    freePoints: free, posts: exceeded ? Int((max(0, overdue[k] - free) / max(mean, 1)).rounded(.up)) : 0
                ))
        }
        return out
    }
}

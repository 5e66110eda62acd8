import DutyCore
import DutyPolicy
import Foundation
import Testing

@testable import DutyEngine

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// 2024-09-10T09:00:00Z, a Tuesday.
let t0 = Date(timeIntervalSince1970: 1_725_958_800)

extension Date {
    static func + (d: Date, x: DutyCore.Duration) -> Date { d.addingTimeInterval(x.timeInterval) }
    static func - (d: Date, x: DutyCore.Duration) -> Date { d.addingTimeInterval(-x.timeInterval) }
}

func hours(_ n: Int64) -> DutyCore.Duration { .hours(n) }
func days(_ n: Int64) -> DutyCore.Duration { .days(n) }

/// A small council for readable scenarios: one service (head `h`, duty managers `d1`, `d2`) and a safeguarding
/// team `sg` (manager `m`, deputy `dep`) with workers `a` (senior), `b` (ASYE) and `c`.
func smallRoster(workers extra: [Worker] = []) -> Roster {
    var workers = [
        Worker(id: "h", name: "H", team: "sg", role: "head_of_service"),
        Worker(id: "d1", name: "D1", team: "sg", role: "service_manager"),
        Worker(id: "d2", name: "D2", team: "sg", role: "service_manager"),
        Worker(id: "m", name: "M", team: "sg", role: "team_manager"),
        Worker(id: "dep", name: "Dep", team: "sg", role: "deputy_manager"),
        Worker(
            id: "a", name: "A", team: "sg", role: "social_worker", skills: ["s42", "domestic_abuse"], capacity: 12,
            experience: 5),
        Worker(
            id: "b", name: "B", team: "sg", role: "social_worker", skills: ["s42"], capacity: 9, experience: 2,
            asye: true),
        Worker(id: "c", name: "C", team: "sg", role: "social_worker", skills: ["s42"], capacity: 12, experience: 3),
    ]
    workers += extra
    return Roster(
        services: [Service(id: "svc", name: "S", head: "h", dutyManagers: ["d1", "d2"])],
        teams: [Team(id: "sg", name: "SG", service: "svc", manager: "m", deputies: ["dep"], kinds: ["safeguarding"])],
        workers: workers)
}

/// The shipped policies, checked against a roster.
func shippedPolicies(for roster: Roster) -> PolicySet {
    let (set, diagnostics) = PolicySet.load(directory: repositoryRoot + "/policies", roster: roster)
    precondition(set != nil, "\(diagnostics)")
    return set!
}

/// A snapshot under construction, with helpers that read like the scenario they describe.
struct World {
    var snapshot: Snapshot
    private var absenceCount = 0

    init(roster: Roster = smallRoster(), policies: PolicySet? = nil) {
        snapshot = Snapshot(
            referrals: [], roster: roster, absences: [], policies: policies ?? shippedPolicies(for: roster))
    }

    mutating func absent(_ worker: String, from: Date, to: Date) {
        absenceCount += 1
        snapshot.absences.append(Absence(id: "A-\(absenceCount)", worker: worker, from: from, to: to))
    }

    @discardableResult
    mutating func refer(
        _ id: String, kind: String = "safeguarding", flags: [String] = [], complexity: Int = 3,
        received: Date = t0 - hours(1),
        person: String? = nil, skills: [String] = [], facts: [String: FactValue] = [:]
    ) -> Int {
        snapshot.referrals.append(
            OpenReferral(
                referral: Referral(
                    id: id, person: person ?? "P-\(id)", kind: kind, received: received, flags: flags, facts: facts,
                    complexity: complexity, skills: skills),
                needsRating: true))
        return snapshot.referrals.count - 1
    }

    /// Runs a cycle at `now` and applies it, returning the plan.
    @discardableResult
    mutating func cycle(at now: Date) -> Plan {
        let plan = Engine.plan(snapshot, now: now)
        snapshot = snapshot.applying(plan, now: now)
        return plan
    }

    func open(_ id: String) -> OpenReferral? { snapshot.referrals.first { $0.referral.id == id } }
}

extension Plan {
    func assignment(_ id: String) -> AssignmentDecision? {
        for d in decisions { if case .assigned(let a) = d, a.referral == id { return a } }
        return nil
    }

    var assignments: [AssignmentDecision] {
        decisions.compactMap { if case .assigned(let a) = $0 { a } else { nil } }
    }

    var escalations: [EscalationDecision] {
        decisions.compactMap { if case .escalated(let e) = $0 { e } else { nil } }
    }

    func blocked(_ id: String) -> (BlockReason, [(String, Int)])? {
        for d in decisions { if case .blocked(let r, let reason, let ex, _, _) = d, r == id { return (reason, ex) } }
        return nil
    }

    var types: [String] { decisions.map { "\($0.eventType) \($0.referral)" } }
}

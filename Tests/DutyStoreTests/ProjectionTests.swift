import DutyCore
import Foundation
import Testing

@testable import DutyStore

extension SplitMix64 {
    mutating func pick<T>(_ a: [T]) -> T { a[int(0...(a.count - 1))] }
}

@Suite struct ProjectionTests {
    /// Random sequences of every kind of event; the live projections must equal a rebuild from the log.
    @Test(arguments: Array(UInt64(1)...40))
    func rebuildEqualsLive(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let store = try Store()
        store.checkpointEvery = 25
        var now = t0
        let ids = (0..<12).map { "R-\($0)" }
        let workers = ["w-1", "w-2", "w-3"]
        var absences = 0
        for _ in 0..<60 {
            now = now + Double(rng.int(1...7_200))
            try store.write(at: now) { tx in
                switch rng.int(0...11) {
                case 0, 1:
                    let batch = (0..<rng.int(1...4)).map { _ in
                        referral(
                            rng.pick(ids), team: rng.pick(["sg", nil]), received: t0 - Double(rng.int(0...9) * 86_400),
                            flags: rng.int(0...1) == 0 ? [] : ["risk_to_life"], complexity: rng.int(1...5),
                            status: rng.int(0...5) == 0 ? .closed : .open,
                            facts: rng.int(0...1) == 0 ? [:] : ["n": .number(2)])
                    }
                    var seen = Set<String>()
                    _ = try tx.intake(batch.filter { seen.insert($0.id).inserted }, source: "f.json")
                case 2, 3:
                    let level = rng.pick([("red", 3), ("amber", 2), ("green", 1)])
                    var event = rated(rng.pick(ids), level: level.0, rank: level.1, due: now + 86_400)
                    if rng.int(0...1) == 0 {
                        event.type = "triage.rerated"
                        event.data = .object(
                            [("from", .string("green")), ("pin_raised", .bool(rng.int(0...3) == 0))]
                                + (event.data.objectMembers ?? []))
                    }
                    try tx.append(event)
                case 4:
                    try tx.append(assigned(rng.pick(ids), worker: rng.pick(workers), manager: rng.pick(["m", nil])))
                case 5:
                    try tx.append(
                        NewEvent(
                            type: "allocation.blocked", referral: rng.pick(ids),
                            data: .object([("reason", .string(rng.pick(["no_capacity", "all_absent"])))])))
                case 6:
                    try tx.append(
                        NewEvent(
                            type: "allocation.acknowledged", referral: rng.pick(ids), actor: "m",
                            data: .object([("by", .string("m"))])))
                case 7:
                    try tx.append(
                        NewEvent(
                            type: "review.recorded", referral: rng.pick(ids), actor: "m",
                            data: .object([("by", .string("m")), ("note", .string("called"))])))
                case 8:
                    let id = rng.pick(ids)
                    if rng.int(0...1) == 0 {
                        try tx.append(
                            NewEvent(
                                type: "override.assigned", referral: id, actor: "m",
                                data: .object([
                                    ("by", .string("m")), ("from", .null), ("to", .string(rng.pick(workers))),
                                    ("reason", .string("r")),
                                ])))
                    } else {
                        try tx.append(
                            NewEvent(
                                type: "override.unassigned", referral: id, actor: "m",
                                data: .object([
                                    ("by", .string("m")), ("from", .string("w-1")), ("reason", .string("r")),
                                ])))
                    }
                case 9:
                    let cleared = rng.int(0...2) == 0
                    try tx.append(
                        NewEvent(
                            type: "override.rerated", referral: rng.pick(ids), actor: "m",
                            data: cleared
                                ? .object([("by", .string("m")), ("cleared", .bool(true))])
                                : .object([
                                    ("by", .string("m")), ("from", .string("red")), ("to", .string("amber")),
                                    ("rank", .int(2)),
                                    ("policy_rank", .int(3)), ("due", .time(now + 4 * 86_400)),
                                    ("reason", .string("r")),
                                ])))
                case 10:
                    try tx.append(
                        NewEvent(
                            type: "escalation.raised", referral: rng.pick(ids),
                            data: .object([
                                ("reason", .string("unallocated_overdue")), ("to", .string(rng.pick(["m", "d1"]))),
                                ("chain_position", .int(Int64(rng.int(0...3)))), ("since", .time(t0)),
                            ])))
                default:
                    if absences > 0 && rng.int(0...2) == 0 {
                        try tx.append(
                            NewEvent(
                                type: "absence.ended", actor: "m",
                                data: .object([
                                    ("absence", .string("A-\(rng.int(1...absences))")), ("worker", .string("w-1")),
                                    ("by", .string("m")),
                                ])))
                    } else {
                        absences += 1
                        try tx.append(
                            NewEvent(
                                type: "absence.recorded", actor: "m",
                                data: .object([
                                    ("absence", .string("A-\(absences)")), ("worker", .string(rng.pick(workers))),
                                    ("from", .time(now)), ("to", .time(now + 3 * 86_400)), ("by", .string("m")),
                                    ("reason", .string("leave")),
                                ])))
                    }
                }
            }
        }
        let live = try store.dumpProjections()
        let replayed = try store.rebuild()
        #expect(replayed == Int(store.head.seq))
        let rebuilt = try store.dumpProjections()
        for table in live.keys.sorted() {
            #expect(live[table] == rebuilt[table], "seed \(seed): \(table) differs after rebuild")
        }
        #expect(live["referrals"]?.isEmpty == false)
        #expect(try store.verify().ok)
    }
}

extension JSONValue {
    var objectMembers: [(String, JSONValue)]? { if case .object(let m) = self { m } else { nil } }
}

@Suite struct StatsTests {
    /// A fixture whose figures are worked out by hand in the comments.
    @Test func statisticsAsOfATime() throws {
        let store = try Store()
        let day = 86_400.0
        let asOf = t0 + 30 * day
        try store.write(at: t0) { tx in
            // Safeguarding: received 30, 20, 10 and 2 days before asOf; one allocated on time, one late, one closed.
            _ = try tx.intake(
                [
                    referral("S-1", received: asOf - 30 * day), referral("S-2", received: asOf - 20 * day),
                    referral("S-3", received: asOf - 10 * day), referral("S-4", received: asOf - 2 * day),
                    referral("S-5", received: asOf - 25 * day), referral("S-6", received: asOf - 25 * day),
                    referral("S-7", received: asOf - 40 * day),
                    // DoLS: 100 and 300 days.
                    referral("D-1", kind: "dols", team: "dl", received: asOf - 100 * day),
                    referral("D-2", kind: "dols", team: "dl", received: asOf - 300 * day),
                    // Received after asOf: not counted.
                    referral("S-9", received: asOf + day),
                ], source: "f.json")
            // Due dates: S-1..S-4 due 4 days after received; S-5 due 4 days (allocated on day 3: within), S-6 due 4 days
            // (allocated on day 6: late).
            for (id, received) in [
                ("S-1", 30.0), ("S-2", 20), ("S-3", 10), ("S-4", 2), ("S-5", 25), ("S-6", 25), ("S-7", 40),
            ] {
                try tx.append(rated(id, level: "amber", rank: 2, due: asOf - received * day + 4 * day))
            }
            try tx.append(rated("D-1", level: "medium", rank: 2, due: asOf - 100 * day + 28 * day))
            try tx.append(rated("D-2", level: "low", rank: 1, due: asOf - 300 * day + 90 * day))
        }
        try store.write(at: asOf - 22 * day) { tx in try tx.append(assigned("S-5", worker: "w-1")) }
        try store.write(at: asOf - 19 * day) { tx in try tx.append(assigned("S-6", worker: "w-1")) }
        try store.write(at: asOf - 5 * day) { tx in
            _ = try tx.intake([referral("S-7", received: asOf - 40 * day, status: .closed)], source: "g.json")
        }
        try store.write(at: asOf - 1 * day) { tx in
            try tx.append(NewEvent(type: "review.recorded", referral: "S-1", data: .object([("by", .string("m"))])))
        }
        let byKind = try store.stats(
            by: .kind, asOf: asOf, reviewEvery: { _, level in level == "amber" ? .days(7) : nil })
        // safeguarding waiting: S-1 30d, S-2 20d, S-3 10d, S-4 2d -> median (10+20)/2 = 15, max 30.
        // overdue (due < asOf): S-1 (due -26d), S-2 (-16d), S-3 (-6d); S-4 due in 2 days.
        // reviews overdue (every 7d since last review or received): S-2, S-3 (S-1 reviewed yesterday, S-4 2 days).
        // allocated and open: S-5, S-6; within timescale: S-5 only -> 50%.
        #expect(
            byKind == [
                StatsRow(
                    key: "dols", waiting: 2, medianDays: 200, maxDays: 300, allocated: 0, withinTimescalePct: nil,
                    overdue: 2,
                    reviewsOverdue: 0),
                StatsRow(
                    key: "safeguarding", waiting: 4, medianDays: 15, maxDays: 30, allocated: 2, withinTimescalePct: 50,
                    overdue: 3, reviewsOverdue: 2),
            ])
        let byLevel = try store.stats(by: .level, asOf: asOf)
        #expect(byLevel.map(\.key) == ["amber", "low", "medium"])
        #expect(byLevel.map(\.waiting) == [4, 1, 1])
        // Earlier: as of 21 days before, S-6 was still waiting (allocated 19 days before) and S-1 had waited 9 days.
        let earlier = try store.stats(by: .team, asOf: asOf - 21 * day)
        let sg = try #require(earlier.first { $0.key == "sg" })
        // Then: S-1 had waited 9 days, S-6 4 (allocated two days later), S-7 19; S-5 was allocated; S-2..S-4 not
        // yet received.
        #expect(sg.waiting == 3)
        #expect(sg.medianDays == 9)
        #expect(sg.maxDays == 19)
        #expect(sg.allocated == 1)
    }
}

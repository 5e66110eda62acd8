import DutyCore
import Foundation
import Testing

@testable import DutyStore

/// 2024-09-10T09:00:00Z.
let t0 = Date(timeIntervalSince1970: 1_725_958_800)

func tempDir() throws -> String {
    let dir = NSTemporaryDirectory() + "duty-store-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func referral(
    _ id: String, kind: String = "safeguarding", team: String? = "sg", received: Date = t0, flags: [String] = [],
    complexity: Int = 3, status: Referral.Status = .open, facts: [String: FactValue] = [:]
) -> Referral {
    Referral(
        id: id, person: "P-\(id)", kind: kind, team: team, received: received, flags: flags, facts: facts,
        complexity: complexity, status: status)
}

func rated(_ id: String, level: String = "red", rank: Int = 3, due: Date = t0 + 86_400) -> NewEvent {
    NewEvent(
        type: "triage.rated", referral: id,
        data: .object([
            ("policy", .string("safeguarding-rag")), ("policy_version", .string("1")), ("level", .string(level)),
            ("rank", .int(Int64(rank))), ("rules", .strings(["SG-R1"])), ("due", .time(due)),
        ]))
}

func assigned(_ id: String, worker: String, manager: String? = "m") -> NewEvent {
    NewEvent(
        type: "allocation.assigned", referral: id,
        data: .object([
            ("worker", .string(worker)), ("manager", .string(manager)), ("fallback", .bool(false)),
            ("fallback_reason", .null), ("candidates", .array([])),
        ]))
}

extension Date {
    static func + (d: Date, s: Double) -> Date { d.addingTimeInterval(s) }
}

@Suite struct EventLogTests {
    @Test func appendsAChainThatVerifies() throws {
        let store = try Store()
        let stored = try store.append(
            [NewEvent(type: "daemon.started", data: .object([("version", .string("0.1.0")), ("pid", .int(42))]))],
            at: t0)
        #expect(stored[0].seq == 1)
        #expect(stored[0].at == "2024-09-10T09:00:00Z")
        let canonical =
            #"{"actor":"dutyd","at":"2024-09-10T09:00:00Z","data":{"pid":42,"version":"0.1.0"},"referral":null,"seq":1,"type":"daemon.started"}"#
        #expect(stored[0].hash == SHA256.hex(Store.genesis + canonical))
        #expect(
            stored[0].json.serialized()
                == #"{"seq":1,"at":"2024-09-10T09:00:00Z","type":"daemon.started","referral":null,"actor":"dutyd","data":{"pid":42,"version":"0.1.0"},"hash":"\#(stored[0].hash)"}"#
        )
        try store.write(at: t0 + 60) { tx in
            _ = try tx.intake([referral("R-1"), referral("R-2")], source: "a.json")
        }
        let report = try store.verify()
        #expect(report.ok && report.events == 3 && report.headSeq == 3 && report.headHash == store.head.hash)
    }

    @Test func sha256KnownAnswer() {
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func updateAndDeleteAreRefused() throws {
        let store = try Store()
        try store.append([NewEvent(type: "daemon.started")], at: t0)
        #expect(throws: SQLiteError.self) { try store.database.execute("UPDATE events SET type = 'x'") }
        #expect(throws: SQLiteError.self) { try store.database.execute("DELETE FROM events") }
        let error = #expect(throws: SQLiteError.self) { try store.database.execute("DELETE FROM events WHERE seq = 1") }
        #expect(error?.message.contains("append-only") == true)
        #expect(try store.verify().ok)
    }

    @Test func writesCheckpoints() throws {
        let store = try Store()
        store.checkpointEvery = 10
        for n in 0..<25 {
            try store.append([NewEvent(type: "config.loaded", data: .object([("n", .int(Int64(n)))]))], at: t0)
        }
        let checkpoints = try store.log(LogFilter(type: "log.checkpoint"))
        #expect(checkpoints.map(\.seq) == [11, 22])
        #expect(checkpoints[0].dataValue["seq"]?.intValue == 10)
        #expect(try store.verify().ok)
    }

    /// The 1,000-event rule counts across restarts: a log built by many short runs (each appending fewer than
    /// 1,000 events) still gets its checkpoints.
    @Test func checkpointsCountAcrossRestarts() throws {
        let path = try tempDir() + "/short-runs.db"
        for run in 0..<5 {
            let store = try Store(path: path)
            for n in 0..<400 {
                try store.append(
                    [
                        NewEvent(
                            type: "config.loaded", data: .object([("run", .int(Int64(run))), ("n", .int(Int64(n)))]))
                    ],
                    at: t0)
            }
        }
        let store = try Store(path: path, readOnly: true)
        let checkpoints = try store.log(LogFilter(type: "log.checkpoint"))
        #expect(checkpoints.map { $0.dataValue["seq"]?.intValue } == [1_000, 2_001])
        #expect(try store.verify().ok)
    }

    @Test func aFailedTransactionLeavesNothing() throws {
        let store = try Store()
        try store.append([NewEvent(type: "daemon.started")], at: t0)
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try store.write(at: t0) { tx in
                try tx.intake([referral("R-1")], source: "a.json")
                throw Boom()
            }
        }
        #expect(store.head.seq == 1)
        #expect(try store.referral("R-1") == nil)
        try store.append([NewEvent(type: "daemon.stopped")], at: t0)
        #expect(try store.verify().ok && store.head.seq == 2)
    }
}

@Suite struct TamperTests {
    /// A file database with 40 events, its triggers dropped so raw SQL can tamper with it.
    func tampered(_ sql: String, expecting checkpoint: Checkpoint? = nil) throws -> VerifyReport {
        let dir = try tempDir()
        let store = try Store(path: dir + "/duty.db")
        store.checkpointEvery = 1_000
        for n in 1...20 {
            try store.write(at: t0 + Double(n)) { tx in
                _ = try tx.intake([referral("R-\(n)")], source: "f\(n).json")
                try tx.append(rated("R-\(n)"))
            }
        }
        try store.database.execute("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;")
        if !sql.isEmpty { try store.database.execute(sql) }
        return try store.verify(expecting: checkpoint)
    }

    @Test func anUntouchedLogVerifies() throws {
        let report = try tampered("")
        #expect(report.ok && report.events == 40 && report.problem == nil)
    }

    @Test(arguments: [
        ("UPDATE events SET data = replace(data, '\"red\"', '\"green\"') WHERE seq = 14", 14 as Int64),
        ("UPDATE events SET actor = 'w-1' WHERE seq = 7", 7),
        ("UPDATE events SET at = '2024-09-10T09:00:30Z' WHERE seq = 30", 30),
        ("DELETE FROM events WHERE seq = 9", 9),
        ("DELETE FROM events WHERE seq = 1", 1),
        // Insert a row in the middle: the rows after it are renumbered.
        (
            """
            UPDATE events SET seq = seq + 1000 WHERE seq >= 25; UPDATE events SET seq = seq - 999 WHERE seq >= 1025;
            INSERT INTO events (seq, at, type, referral, actor, data, hash) VALUES (25, '2024-09-10T09:00:12Z', 'override.assigned', 'R-12', 'w-100', '{}', 'x');
            """, 25
        ),
        // Swap the contents of two rows, hashes and all.
        (
            """
            CREATE TEMP TABLE s AS SELECT * FROM events WHERE seq IN (5, 6);
            UPDATE events SET at = (SELECT at FROM s WHERE seq = 6), type = (SELECT type FROM s WHERE seq = 6), referral = (SELECT referral FROM s WHERE seq = 6), data = (SELECT data FROM s WHERE seq = 6), hash = (SELECT hash FROM s WHERE seq = 6) WHERE seq = 5;
            UPDATE events SET at = (SELECT at FROM s WHERE seq = 5), type = (SELECT type FROM s WHERE seq = 5), referral = (SELECT referral FROM s WHERE seq = 5), data = (SELECT data FROM s WHERE seq = 5), hash = (SELECT hash FROM s WHERE seq = 5) WHERE seq = 6;
            """, 5
        ),
        ("UPDATE events SET worker = 'w-9' WHERE seq = 3", 3),
    ])
    func tamperingIsFound(sql: String, firstBad: Int64) throws {
        let report = try tampered(sql)
        #expect(!report.ok)
        #expect(report.firstBadSeq == firstBad, "\(report.problem ?? "")")
    }

    /// A rewritten log whose chain was recomputed is still caught when a checkpoint no longer records the event
    /// before it, and a head kept elsewhere with another hash is caught at its seq.
    @Test func checkpointsThatDoNotMatchAreFound() throws {
        let store = try Store()
        store.checkpointEvery = 10
        for n in 0..<15 {
            try store.append([NewEvent(type: "config.loaded", data: .object([("n", .int(Int64(n)))]))], at: t0)
        }
        #expect(
            try store.verify(expecting: Checkpoint(seq: 5, hash: String(repeating: "0", count: 64))).firstBadSeq == 5)
        // Point the checkpoint (seq 11) at seq 9 and recompute every hash from there, as a forger would.
        try store.database.execute(
            """
            DROP TRIGGER events_no_update;
            UPDATE events SET data = replace(data, '"seq":10', '"seq":9') WHERE seq = 11;
            """)
        var previous = try store.database.scalar("SELECT hash FROM events WHERE seq = 10").string ?? ""
        for seq in Int64(11)...store.head.seq {
            var row: [SQLValue] = []
            try store.database.query("SELECT at, type, referral, actor, data FROM events WHERE seq = ?", [.int(seq)]) {
                row = $0.values
            }
            let canonical = StoredEvent.canonical(
                seq: seq, at: row[0].string ?? "", type: row[1].string ?? "", referral: row[2].string,
                actor: row[3].string ?? "", data: row[4].string ?? "")
            previous = StoredEvent.chain(previous: previous, canonical: canonical)
            try store.database.query("UPDATE events SET hash = ? WHERE seq = ?", [.text(previous), .int(seq)])
        }
        let report = try store.verify()
        #expect(report.firstBadSeq == 11)
        #expect(report.problem == "checkpoint 11 does not record the event before it")
    }

    @Test func aTruncatedTailIsFoundAgainstAKeptCheckpoint() throws {
        // Without a checkpoint, cutting the tail leaves a valid shorter chain...
        let cut = try tampered("DELETE FROM events WHERE seq > 30")
        #expect(cut.ok && cut.headSeq == 30)
        // ...which a head kept elsewhere exposes.
        let dir = try tempDir()
        let store = try Store(path: dir + "/duty.db")
        for n in 1...20 {
            try store.write(at: t0 + Double(n)) { tx in
                _ = try tx.intake([referral("R-\(n)")], source: "f\(n).json")
                try tx.append(rated("R-\(n)"))
            }
        }
        let kept = Checkpoint(seq: store.head.seq, hash: store.head.hash)
        #expect(try store.verify(expecting: kept).ok)
        #expect(Checkpoint(parsing: "\(kept.seq):\(kept.hash)") == kept)
        try store.database.execute("DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq > 30")
        let report = try store.verify(expecting: kept)
        #expect(report.firstBadSeq == 31)
        #expect(report.problem?.contains("events have been removed from the end") == true)
        // A forged tail with the right length is found too.
        try store.database.execute(
            "INSERT INTO events (seq, at, type, actor, data, hash) SELECT seq + 10, at, type, actor, data, hash FROM events WHERE seq BETWEEN 21 AND 30"
        )
        #expect(try store.verify(expecting: kept).firstBadSeq == 31)
    }
}

@Suite struct IntakeTests {
    @Test func newUpdatedClosedUnchanged() throws {
        let store = try Store()
        let first = try store.write(at: t0) { tx in
            try tx.intake([referral("R-1"), referral("R-2"), referral("R-3", status: .closed)], source: "a.json")
        }
        #expect(first.new == ["R-1", "R-2", "R-3"] && first.closed == ["R-3"] && first.updated.isEmpty)
        // The same file again (a crash between commit and moving the file): nothing changes, nothing is logged.
        let seq = store.head.seq
        let again = try store.write(at: t0 + 60) { tx in
            try tx.intake([referral("R-1"), referral("R-2"), referral("R-3", status: .closed)], source: "a.json")
        }
        #expect(again.unchanged == ["R-1", "R-2", "R-3"] && again.changed == 0)
        #expect(store.head.seq == seq)
        // An update carries only what changed; a close; a reopen.
        let next = try store.write(at: t0 + 120) { tx in
            try tx.intake(
                [
                    referral("R-1", flags: ["risk_to_life"], complexity: 4), referral("R-2", status: .closed),
                    referral("R-3"),
                ],
                source: "b.json")
        }
        #expect(next.updated == ["R-1", "R-3"] && next.closed == ["R-2"])
        let update = try store.timeline("R-1").last!
        #expect(update.type == "referral.updated")
        #expect(update.data == #"{"complexity":4,"flags":["risk_to_life"],"source":"b.json"}"#)
        #expect(try store.referral("R-1")?.needsRating == true)
        #expect(try store.referral("R-2")?.state == "closed")
        #expect(try store.referral("R-3")?.state == "waiting")
        #expect(try store.timeline("R-3").map(\.type) == ["referral.received", "referral.closed", "referral.updated"])
    }

    /// A batch that names an id twice: the second record is compared with what the first one left.
    @Test func aBatchThatRepeatsAnId() throws {
        let store = try Store()
        let first = try store.write(at: t0) { tx in
            try tx.intake(
                [referral("R-1"), referral("R-2"), referral("R-1", complexity: 5), referral("R-1", complexity: 5)],
                source: "a.json")
        }
        #expect(first.new == ["R-1", "R-2"] && first.updated == ["R-1"] && first.unchanged == ["R-1"])
        #expect(try store.referral("R-1")?.referral.complexity == 5)
        let second = try store.write(at: t0 + 60) { tx in
            try tx.intake(
                [referral("R-2", status: .closed), referral("R-3"), referral("R-2"), referral("R-1", complexity: 5)],
                source: "b.json")
        }
        #expect(second.closed == ["R-2"] && second.new == ["R-3"] && second.unchanged == ["R-1"])
        #expect(second.updated == ["R-2"])
        #expect(try store.referral("R-2")?.state == "waiting")
        #expect(try store.timeline("R-2").map(\.type) == ["referral.received", "referral.closed", "referral.updated"])
    }

    @Test func receivedEventsHoldTheWholeRecord() throws {
        let store = try Store()
        try store.write(at: t0) { tx in
            _ = try tx.intake(
                [referral("R-1", flags: ["objection"], facts: ["age": .number(88), "settled": .bool(false)])],
                source: "a.json")
        }
        #expect(
            try store.timeline("R-1")[0].data
                == #"{"complexity":3,"facts":{"age":88,"settled":false},"flags":["objection"],"kind":"safeguarding","person":"P-R-1","received":"2024-09-10T09:00:00Z","skills":[],"source":"a.json","team":"sg"}"#
        )
        let row = try #require(try store.referral("R-1"))
        #expect(
            row.referral == referral("R-1", flags: ["objection"], facts: ["age": .number(88), "settled": .bool(false)]))
    }
}

extension IntakeTests {
    /// An update names exactly the fields that changed, and the projection follows it.
    @Test func anUpdateListsEveryChangedField() throws {
        let store = try Store()
        try store.write(at: t0) { tx in _ = try tx.intake([referral("R-1")], source: "a.json") }
        var changed = referral("R-1", kind: "dols", team: "dl")
        changed.person = "P-other"
        changed.skills = ["bia"]
        let result = try store.write(at: t0 + 60) { tx in try tx.intake([changed], source: "b.json") }
        #expect(result.updated == ["R-1"])
        let update = try #require(try store.timeline("R-1").last)
        #expect(
            update.data
                == #"{"kind":"dols","person":"P-other","skills":["bia"],"source":"b.json","team":"dl"}"#)
        #expect(try store.referral("R-1")?.referral == changed)
    }

    /// A `referral.received` event with only the required fields (written by hand, or by a future version that
    /// leaves defaults out) projects with the defaults: no flags, facts or skills, complexity 3.
    @Test func aMinimalReceivedEventProjectsWithDefaults() throws {
        let store = try Store()
        try store.append(
            [
                NewEvent(
                    type: "referral.received", referral: "R-9",
                    data: .object([("person", .string("P-9")), ("kind", .string("ot")), ("received", .time(t0))]))
            ], at: t0)
        let row = try #require(try store.referral("R-9"))
        #expect(row.referral.flags.isEmpty && row.referral.facts.isEmpty && row.referral.skills.isEmpty)
        #expect(row.referral.complexity == 3 && row.state == "waiting" && row.referral.team == nil)
    }
}

@Suite struct QueryTests {
    @Test func waitingOrderLogFiltersAndInbox() throws {
        let store = try Store()
        try store.write(at: t0) { tx in
            try tx.intake([referral("A"), referral("B"), referral("C"), referral("D")], source: "f.json")
            try tx.append(rated("A", level: "amber", rank: 2, due: t0 + 4 * 86_400))
            try tx.append(rated("B", level: "red", rank: 3, due: t0 + 86_400))
            try tx.append(rated("C", level: "amber", rank: 2, due: t0 + 2 * 86_400))
            try tx.append(rated("D", level: "red", rank: 3, due: t0 + 86_400))
        }
        #expect(try store.waiting().map(\.id) == ["B", "D", "C", "A"])
        #expect(try store.waiting(WaitingFilter(level: "amber")).map(\.id) == ["C", "A"])
        try store.write(at: t0 + 1_800) { tx in
            try tx.append(assigned("B", worker: "w-1", manager: "m"))
            try tx.append(
                NewEvent(
                    type: "escalation.raised", referral: "C",
                    data: .object([
                        ("reason", .string("unallocated_overdue")), ("to", .string("m")), ("chain_position", .int(0)),
                    ])))
        }
        #expect(try store.waiting().map(\.id) == ["D", "C", "A"])
        #expect(try store.log(LogFilter(worker: "w-1")).map(\.type) == ["allocation.assigned"])
        #expect(try store.log(LogFilter(type: "triage")).count == 4)
        #expect(try store.log(LogFilter(since: t0 + 60)).map(\.type) == ["allocation.assigned", "escalation.raised"])
        #expect(try store.log(LogFilter(limit: 1)).map(\.type) == ["escalation.raised"])
        #expect(try store.log(LogFilter(until: t0 + 60)).count == 8)
        #expect(try store.log(LogFilter(type: "triage.*")).count == 4)
        #expect(try store.log(LogFilter(type: "escalation.raised", referral: "C")).map(\.seq) == [10])
        #expect(
            try store.log(LogFilter(referral: "C")).map(\.type) == [
                "referral.received", "triage.rated", "escalation.raised",
            ])
        #expect(try store.log(LogFilter(type: "allocation.assigned", referral: "C")).isEmpty)
        let inbox = try store.inbox(
            person: "m", minRank: 3, teams: ["sg"], now: t0 + 5 * 86_400,
            reviewEvery: { _, level in level == "amber" ? .days(2) : nil })
        #expect(inbox.map { "\($0.reason) \($0.referral)" } == ["ack B", "escalation C", "review C", "review A"])
        // Before the review interval has passed, no review is due.
        let early = try store.inbox(
            person: "m", minRank: 3, teams: ["sg"], now: t0 + 3_600,
            reviewEvery: { _, level in level == "amber" ? .days(2) : nil })
        #expect(early.map { "\($0.reason) \($0.referral)" } == ["ack B", "escalation C"])
        #expect(try store.allocations(worker: "w-1").map(\.id) == ["B"])
        #expect(try store.lastWorkers() == ["P-B": "w-1"])
        #expect(try store.openEscalations().map(\.referral) == ["C"])
        // A cycle's snapshot reads only what open referrals need; history stays for the queries.
        try store.append(
            [NewEvent(type: "referral.closed", referral: "B"), NewEvent(type: "referral.closed", referral: "C")],
            at: t0 + 120)
        #expect(try store.lastWorkers().isEmpty && store.openEscalations().isEmpty)
        #expect(try store.escalations().map(\.referral) == ["C"])
        #expect(try store.openReferrals().map(\.id) == ["A", "D"])
        // An hour after the last checkpoint, the next write adds one.
        try store.append([NewEvent(type: "config.loaded")], at: t0 + 3_700)
        #expect(try store.log(LogFilter(limit: 1)).map(\.type) == ["log.checkpoint"])
    }

    @Test func databaseFilesAreGroupReadable() throws {
        let dir = try tempDir()
        _ = try Store(path: dir + "/duty.db")
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/duty.db")[.posixPermissions] as? Int
        #expect(mode == 0o640)
    }
}

@Suite struct MoreQueryTests {
    @Test func filtersExportAbsencesEscalations() throws {
        let store = try Store()
        try store.write(at: t0) { tx in
            try tx.intake(
                [referral("A"), referral("B", kind: "dols", team: "dl"), referral("C", received: t0 - 10 * 86_400)],
                source: "f.json")
            try tx.append(rated("A", level: "red", rank: 3, due: t0 + 86_400))
            try tx.append(rated("B", level: "high", rank: 3, due: t0 - 86_400))
            try tx.append(rated("C", level: "green", rank: 1, due: t0 + 20 * 86_400))
            try tx.append(
                NewEvent(type: "allocation.blocked", referral: "B", data: .object([("reason", .string("no_capacity"))]))
            )
            try tx.append(
                NewEvent(
                    type: "absence.recorded",
                    data: .object([
                        ("absence", .string("X1")), ("worker", .string("w-1")), ("from", .time(t0)),
                        ("to", .time(t0 + 86_400)),
                        ("by", .string("m")),
                    ])))
            try tx.append(
                NewEvent(
                    type: "escalation.raised", referral: "B",
                    data: .object([
                        ("reason", .string("unallocated_overdue")), ("to", .string("m")), ("chain_position", .int(0)),
                    ])))
        }
        #expect(try store.waiting(WaitingFilter(team: "dl")).map(\.id) == ["B"])
        #expect(try store.waiting(WaitingFilter(kind: "safeguarding")).map(\.id) == ["A", "C"])
        #expect(try store.waiting(WaitingFilter(blockedOnly: true)).map(\.id) == ["B"])
        #expect(try store.waiting(WaitingFilter(overdueAt: t0)).map(\.id) == ["B"])
        var exported: [String] = []
        try store.export(since: t0 - 86_400) { exported.append($0.id) }
        #expect(exported == ["A", "B"])
        var all = 0
        try store.export { _ in all += 1 }
        #expect(all == 3)
        #expect(try store.absences(endingAfter: t0 + 2 * 86_400).isEmpty)
        #expect(try store.absences().map(\.absence.id) == ["X1"])
        #expect(try store.escalations(to: "m").map(\.referral) == ["B"])
        #expect(try store.escalations(to: "nobody").isEmpty)
        #expect(try store.referral("Z") == nil)
        #expect(try store.allocations().isEmpty)
        try store.append([NewEvent(type: "absence.ended", data: .object([("absence", .string("X1"))]))], at: t0 + 3_600)
        #expect(try store.absences().first?.ended == t0 + 3_600)
        #expect(try store.stats(by: .team, asOf: t0).map(\.key) == ["dl", "sg"])
    }

    @Test func readOnlyOpenErrors() throws {
        let dir = try tempDir()
        #expect(throws: DutyError.self) { try Store(path: dir + "/missing.db", readOnly: true) }
        // An empty database (no allocation log yet) is "not found" for readers.
        _ = try Database(.file(dir + "/empty.db"))
        let error = #expect(throws: DutyError.self) { try Store(path: dir + "/empty.db", readOnly: true) }
        #expect(error?.code == .notFound)
        let store = try Store(path: dir + "/duty.db")
        try store.append([NewEvent(type: "daemon.started")], at: t0)
        let reader = try Store(path: dir + "/duty.db", readOnly: true)
        let refused = #expect(throws: DutyError.self) { try reader.append([NewEvent(type: "x")], at: t0) }
        #expect(refused?.code == .permissionDenied)
        #expect(try reader.rejectionsLogged(fileID: "f") == false)
    }

    @Test func databaseValuesAndErrors() throws {
        let db = try Database(.memory)
        try db.execute("CREATE TABLE t (a, b, c, d)")
        try db.query("INSERT INTO t VALUES (?, ?, ?, ?)", [.int(1), .double(1.5), .text("x"), .null])
        let row = try db.rows("SELECT a, b, c, d FROM t")[0]
        #expect(row == [.int(1), .double(1.5), .text("x"), .null])
        #expect(row[0].double == 1 && row[1].int == 1 && row[2].string == "x" && row[3].int == nil)
        #expect(SQLValue.double(1e300).int == nil && SQLValue.double(.nan).int == nil)
        let statement = try db.prepare("INSERT INTO t (a) VALUES (?)")
        try statement.run([.int(2)])
        #expect(try db.scalar("SELECT count(*) FROM t") == .int(2))
        let error = #expect(throws: SQLiteError.self) { try db.execute("SELECT * FROM nowhere") }
        #expect(
            error?.description.contains("no such table") == true && error?.isBusy == false && error?.isFull == false)
        #expect(throws: SQLiteError.self) { try db.prepare("NOT SQL") }
    }
}

/// `verify` checks each event's worker index against its data by scanning for the top-level `worker` string
/// instead of parsing every allocation's list of candidates: the scan must agree with the parse.
@Suite struct WorkerScanTests {
    @Test func theScanAgreesWithTheParse() throws {
        let cases: [(type: String, data: String)] = [
            ("allocation.assigned", #"{"candidates":[{"worker":"w-1"}],"manager":"m","worker":"w-2"}"#),
            ("allocation.blocked", #"{"candidates":[{"worker":"w-1"}],"reason":"no_capacity"}"#),
            ("allocation.assigned", #"{"note":"a \"worker\":\"w-9\" in text","worker":"w-3"}"#),
            ("allocation.assigned", #"{"worker":"w-\u00e9"}"#),
            ("allocation.assigned", #"{"worker":null}"#),
            ("allocation.assigned", #"{"worker":7}"#),
            ("override.assigned", #"{"from":"w-1","to":"w-2"}"#),
            ("triage.rated", #"{"level":"red","rules":["R1"]}"#),
            ("triage.rated", "{}"),
        ]
        for c in cases {
            #expect(
                StoredEvent.worker(type: c.type, dataText: c.data)
                    == StoredEvent.worker(type: c.type, data: JSONValue.parse(c.data) ?? .object([])), "\(c)")
        }
        #expect(StoredEvent.topLevelString("worker", in: #"{"a":{"worker":"x"}}"#)! == (false, nil))
        #expect(StoredEvent.topLevelString("worker", in: #"{"worker":"a\"b"}"#) == nil)
        // Whole numbers, as `duty capacity` reads a referral's complexity: the scan agrees with the parse, and
        // says it cannot tell rather than guess.
        for text in [
            #"{"complexity":3,"kind":"ot"}"#, #"{"kind":"ot","complexity":-12}"#, #"{"a":{"complexity":4}}"#,
            #"{"kind":"dols"}"#, #"{"complexity":0}"#, #"{"x":[1,{"complexity":2}],"complexity":5}"#,
        ] {
            let parsed = JSONValue.parse(text)?["complexity"]?.intValue
            #expect(StoredEvent.topLevelInteger("complexity", in: text)! == (parsed != nil, parsed), "\(text)")
        }
        for unclear in [#"{"complexity":2.5}"#, #"{"complexity":"3"}"#, #"{"complexity":1e3}"#, "[1]"] {
            #expect(StoredEvent.topLevelInteger("complexity", in: unclear) == nil, "\(unclear)")
        }
        for (text, needle, found) in [
            (#"{"fallback":true}"#, #""fallback":true"#, true), (#"{"fallback":false}"#, #""fallback":true"#, false),
            ("", "x", false), ("abc", "", true), ("aab", "ab", true), ("ab", "abc", false), ("é\"fb\"", #""fb""#, true),
        ] {
            #expect(StoredEvent.contains(needle, in: text) == found, "\(needle) in \(text)")
        }
    }

    @Test func aTamperedWorkerIndexFailsVerify() throws {
        let path = NSTemporaryDirectory() + "duty-scan-\(UUID().uuidString).db"
        let store = try Store(path: path)
        try store.write(at: Date(timeIntervalSince1970: 1_727_740_800)) { tx in
            try tx.append(
                NewEvent(
                    type: "allocation.assigned", referral: "R",
                    data: .object([
                        ("candidates", .array([.object([("worker", .string("w-1"))])])), ("worker", .string("w-2")),
                    ])))
        }
        #expect(try store.verify().ok)
        let db = try Database(.file(path))
        try db.execute("DROP TRIGGER events_no_update; UPDATE events SET worker = 'w-1' WHERE seq = 1")
        let report = try Store(path: path, readOnly: true).verify()
        #expect(!report.ok && report.problem?.contains("worker index") == true, "\(report)")
    }
}

/// Stored lists are split by hand when they are plain: the same lists as parsing gives.
@Suite struct StoredListTests {
    @Test func splittingAgreesWithParsing() {
        for text in [
            "[]", #"["a"]"#, #"["risk_to_life","deteriorating"]"#, #"["a\"b","c"]"#, #"["é","x y"]"#, #"[1,"a"]"#,
            #"["a",]"#, #"["",""]"#, "[", "not json",
        ] {
            #expect(Store.strings(text) == (JSONValue.parse(text)?.stringArray ?? []), "\(text)")
        }
        #expect(Store.strings(nil) == [])
    }
}

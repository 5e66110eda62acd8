import DutyCore
import Foundation
import Testing

@testable import DutyStore

// The write path: long batches prepared on another thread, the write-ahead log copier, text binding, migrations.

@Suite struct BatchAppendTests {
    /// Mixed events for `n` referrals: received, rated, some assigned, some closed, a few absences.
    func events(_ n: Int) -> [NewEvent] {
        var out: [NewEvent] = []
        for i in 0..<n {
            let id = "R-\(i)"
            out.append(
                NewEvent(
                    type: "referral.received", referral: id,
                    data: .object([
                        ("person", .string("P-\(i % 97)")), ("kind", .string(i % 2 == 0 ? "safeguarding" : "dols")),
                        ("team", .string("sg")), ("received", .time(t0 + Double(i))),
                        ("flags", .strings(i % 5 == 0 ? ["risk_to_life"] : [])),
                        ("facts", .object([("age", .int(Int64(20 + i % 70)))])), ("complexity", .int(Int64(1 + i % 5))),
                    ])))
            out.append(rated(id, rank: i % 4))
            if i % 3 == 0 { out.append(assigned(id, worker: "w\(i % 7)")) }
            if i % 11 == 0 {
                out.append(
                    NewEvent(type: "referral.closed", referral: id, data: .object([("reason", .string("done"))])))
            }
            if i % 50 == 0 {
                out.append(
                    NewEvent(
                        type: "absence.recorded",
                        data: .object([
                            ("absence", .string("A-\(i)")), ("worker", .string("w1")), ("from", .time(t0)),
                            ("to", .time(t0 + 86_400)),
                        ])))
            }
        }
        return out
    }

    /// A long batch (prepared on another thread in parts) stores exactly what appending one at a time does: the
    /// same rows and hashes, the same projections, and a chain that verifies.
    @Test func aBatchEqualsOneAtATime() throws {
        let batch = events(700)
        #expect(batch.count > 1_000)
        let together = try Store()
        let stored = try together.append(batch, at: t0)
        let apart = try Store()
        let single = try apart.write(at: t0) { tx in try batch.map { try tx.append($0) } }
        #expect(stored == single)
        #expect(together.head == apart.head)
        #expect(try together.dumpProjections() == apart.dumpProjections())
        #expect(try together.verify().ok)
        #expect(try together.rebuild() == Int(together.head.seq))
        #expect(try together.dumpProjections() == apart.dumpProjections())
    }

    /// A statement that fails part way through a long batch (an absence without a worker) rolls the whole
    /// transaction back: nothing is stored, the head is where it was, and the store goes on working.
    @Test func aFailurePartWayThroughABatchLeavesNothing() throws {
        let store = try Store()
        try store.append([NewEvent(type: "daemon.started")], at: t0)
        var batch = events(400)
        batch.insert(
            NewEvent(type: "absence.recorded", data: .object([("absence", .string("A-bad")), ("from", .time(t0))])),
            at: 700)
        #expect(throws: DutyError.self) {
            try store.write(at: t0) { tx in try tx.append(contentsOf: batch) }
        }
        #expect(store.head.seq == 1)
        #expect(try store.database.scalar("SELECT count(*) FROM events") == .int(1))
        #expect(try store.referral("R-0") == nil)
        try store.append([NewEvent(type: "daemon.stopped")], at: t0)
        #expect(try store.verify().ok && store.head.seq == 2)
    }
}

@Suite struct WALCopyTests {
    /// Writes `transactions` small transactions, waiting for the copier after each; returns the largest size of
    /// the write-ahead log seen and how many copies ran.
    func run(copyAt frames: Int, transactions: Int, copierStalls: Bool = false) throws -> (
        largestWAL: Int, copies: Int
    ) {
        let dir = try tempDir()
        let store = try Store(path: dir + "/duty.db")
        store.walCopyFrames = frames
        if copierStalls { store.pauseWALCopier() }
        var largest = 0
        for t in 0..<transactions {
            try store.write(at: t0 + Double(t)) { tx in
                _ = try tx.intake((0..<20).map { referral("R-\(t)-\($0)") }, source: "a.json")
            }
            store.waitForWALCopies()
            let size = (try FileManager.default.attributesOfItem(atPath: dir + "/duty.db-wal")[.size] as? Int) ?? 0
            largest = max(largest, size)
        }
        #expect(try store.verify().ok)
        return (largest, store.waitForWALCopies())
    }

    /// The writer leaves copying the log into the database file to the copier's thread, which keeps the log
    /// bounded; with the copier never asked, the same writes grow it several times larger.
    @Test func theCopierKeepsTheLogBounded() throws {
        let copied = try run(copyAt: 40, transactions: 60)
        let never = try run(copyAt: .max, transactions: 60)
        #expect(copied.copies > 0 && never.copies == 0)
        #expect(copied.largestWAL < 120 * 8_192)
        #expect(never.largestWAL > 3 * copied.largestWAL)
    }

    /// A copier that never finishes (a process stopped each time before its copy completes) does not let the
    /// log grow: from four times the threshold the writer copies it itself.
    @Test func theWriterCopiesWhenTheCopierFallsBehind() throws {
        let stalled = try run(copyAt: 20, transactions: 60, copierStalls: true)
        let never = try run(copyAt: .max, transactions: 60)
        #expect(stalled.largestWAL < 200 * 8_192)
        #expect(never.largestWAL > 3 * stalled.largestWAL)
    }
}

@Suite struct BindingTests {
    /// Text is bound from one buffer per statement: every shape of string reads back byte for byte, through both
    /// cached queries and prepared statements, and a bind that fails is an error, not a half-run statement.
    @Test func textBindsFromOneBuffer() throws {
        let db = try Database(.memory)
        try db.execute("CREATE TABLE t (k INTEGER, a TEXT, b TEXT)")
        let texts = [
            "", "x", "fifteen-bytes!!", "sixteen-bytes!!!", String(repeating: "long text ", count: 500),
            "caf\u{E9} \u{1F600} \"quoted\"", "line\nbreak", "embedded\u{0}nul",
        ]
        let insert = try db.prepare("INSERT INTO t VALUES (?, ?, ?)")
        for (k, text) in texts.enumerated() {
            try db.query("INSERT INTO t VALUES (?, ?, ?)", [.int(Int64(k)), .text(text), .text(text + "!")])
            try insert.run([.int(Int64(100 + k)), .text(text), .null])
        }
        for (k, text) in texts.enumerated() {
            var read: [String] = []
            try db.query("SELECT a, b FROM t WHERE k = ? AND a = ?", [.int(Int64(k)), .text(text)]) { row in
                read = [row.text(0), row.text(1)]
            }
            #expect(read == [text, text + "!"])
            #expect(
                try db.scalar("SELECT length(CAST(a AS BLOB)) FROM t WHERE k = ?", [.int(Int64(100 + k))])
                    == .int(Int64(text.utf8.count)))
        }
        #expect(try db.scalar("SELECT typeof(a) FROM t WHERE k = 0") == .text("text"))
        // Too many parameters: SQLITE_RANGE, and the statement still works afterwards.
        #expect(throws: SQLiteError.self) { try db.query("SELECT ?", [.text("a"), .text("b")]) }
        #expect(throws: SQLiteError.self) { try insert.run([.int(1), .text("a"), .text("b"), .text("c")]) }
        #expect(try db.scalar("SELECT ?", [.text("again")]) == .text("again"))
        try insert.run([.int(200), .text("after"), .null])
        #expect(try db.scalar("SELECT a FROM t WHERE k = 200") == .text("after"))
    }
}

@Suite struct MigrationTests {
    /// A database written by the version before migration 3 (which kept each referral's record as canonical JSON
    /// in a `content` column) opens, loses the column, and intake still tells identical records from changes.
    @Test func migratesAVersionTwoDatabase() throws {
        let dir = try tempDir()
        let path = dir + "/duty.db"
        do {
            let db = try Database(.file(path))
            try db.execute(Schema.migrations[0] + Schema.migrations[1] + "PRAGMA user_version = 2;")
            try db.query(
                """
                INSERT INTO referrals (id, person, kind, team, received, flags, facts, complexity, skills, source,
                    content, state, needs_rating)
                VALUES ('R-1', 'P-R-1', 'safeguarding', 'sg', ?, '[]', '{}', 3, '[]', 'a.json', '{}', 'waiting', 1)
                """, [.double(t0.timeIntervalSince1970)])
        }
        let store = try Store(path: path)
        #expect(try store.database.scalar("PRAGMA user_version") == .int(Int64(Schema.migrations.count)))
        let columns = try store.database.rows("SELECT name FROM pragma_table_info('referrals')").map { $0[0] }
        #expect(!columns.contains(.text("content")) && columns.contains(.text("facts")))
        let result = try store.write(at: t0) { tx in
            try tx.intake([referral("R-1"), referral("R-2", complexity: 5)], source: "b.json")
        }
        #expect(result.unchanged == ["R-1"] && result.new == ["R-2"])
        let changed = try store.write(at: t0 + 60) { tx in
            try tx.intake([referral("R-1", status: .closed), referral("R-2", complexity: 5)], source: "c.json")
        }
        #expect(changed.closed == ["R-1"] && changed.updated.isEmpty && changed.unchanged == ["R-2"])
    }
}

import DutyCore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The allocation log and the current state derived from it. DutyStore owns every byte on disk.
///
/// Every change is an event appended to the hash-chained log, and the projections (referrals, absences,
/// escalations, continuity) change only by applying events, in the same transaction: `rebuild` replays the log
/// into empty projections and must give the same tables.
public final class Store: @unchecked Sendable {
    // Writes come from one queue (the daemon's cycle queue, or one test); the database has its own lock.
    public let database: Database
    public let readOnly: Bool
    /// Write-back channels (`write_back.dir`, `write_back.url`): each write that appends decision events queues
    /// one message per channel, in the same transaction, naming the range of seqs it covers.
    public var writeBackChannels: [String] = []
    /// The database file (`:memory:` for an in-memory store): named in every error.
    public private(set) var path = ":memory:"
    /// `seq` and hash of the last event.
    public private(set) var head: (seq: Int64, hash: String) = (0, Store.genesis)
    /// Where written parts of long batches are freed (see `Transaction.write`).
    static let releaseQueue = DispatchQueue(label: "duty.release")

    /// A checkpoint event is written after this many events, or an hour after the last one.
    public var checkpointEvery: Int64 = 1_000
    private var lastCheckpoint: (seq: Int64, at: Double) = (0, 0)
    private var insert: Statement?
    /// The insert of `rowsPerInsert` events at once, for long batches.
    private var insertMany: Statement?
    /// Copies the write-ahead log into the database file on its own connection and thread (file stores only).
    private var walCopier: WALCopier?
    /// A copy of the write-ahead log is started on the copier's thread once the log holds this many frames
    /// (pages) after a commit, and made by the writer itself, at once, from four times as many.
    public var walCopyFrames = 1_000

    /// The `previous hash` of the first event.
    public static let genesis = String(repeating: "0", count: 64)

    /// Opens (creating when writable) the database at `path`. A writable open sets WAL, `synchronous=FULL`,
    /// keeps the WAL files for readers, migrates the schema and runs `PRAGMA quick_check`.
    public init(path: String, readOnly: Bool = false) throws(DutyError) {
        self.readOnly = readOnly
        self.path = path
        do {
            database = try Database(.file(path), readOnly: readOnly)
        } catch {
            throw Self.openError(error, path: path, readOnly: readOnly)
        }
        try setUp(path: path)
        if !readOnly {
            // SPEC: the database files are 0640 (the socket_group may read them).
            for suffix in ["", "-wal", "-shm"] { chmod(path + suffix, 0o640) }
        }
    }

    /// An in-memory store for tests and the simulator.
    public init(inMemory: Void = ()) throws(DutyError) {
        readOnly = false
        do {
            database = try Database(.memory)
        } catch {
            throw DutyError(.failure, "cannot open an in-memory database", cause: error.description)
        }
        try setUp(path: ":memory:")
    }

    private static func openError(_ error: SQLiteError, path: String, readOnly: Bool) -> DutyError {
        if error.isAccess {
            return DutyError(
                .permissionDenied,
                "cannot open the database '\(path)'\(readOnly ? " for reading" : ""): check that it exists and that you may read it (the socket_group)",
                cause: error.description)
        }
        return DutyError(.failure, "cannot open the database '\(path)'", cause: error.description)
    }

    private func setUp(path: String) throws(DutyError) {
        do {
            if readOnly {
                let version = try userVersion()
                guard version >= 1 else {
                    throw DutyError(.notFound, "the database '\(path)' has no allocation log yet: has dutyd run?")
                }
                // Read-only, it cannot be migrated: an older layout would fail on the first new column.
                guard version >= Schema.migrations.count else {
                    throw DutyError(
                        .unavailable,
                        "the database '\(path)' was written by an older dutyd (schema \(version) of \(Schema.migrations.count)): start this version of dutyd (or run dutyd --once) to migrate it, then try again"
                    )
                }
            } else {
                // 8 KiB pages (taken only by a new, empty database): with this schema SQLite's part of intake ran
                // about a sixth faster than with 4 KiB in an experiment with the sqlite3 shell.
                try database.execute(
                    """
                    PRAGMA page_size=8192; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
                    PRAGMA cache_size=-32768;
                    """
                )
                database.persistWAL()
                try migrate()
                let check = try database.scalar("PRAGMA quick_check").string ?? ""
                guard check == "ok" else {
                    throw DutyError(.invalidData, "the database '\(path)' is damaged: quick_check says \(check)")
                }
                insert = try database.prepare(
                    "INSERT INTO events (seq, at, type, referral, actor, data, hash, worker) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                )
                insertMany = try database.prepare(
                    "INSERT INTO events (seq, at, type, referral, actor, data, hash, worker) VALUES "
                        + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?)", count: rowsPerInsert).joined(
                            separator: ", ")
                )
                if path != ":memory:" {
                    // The log is made durable at each commit as before; only the copy into the database file
                    // (SQLite's checkpoint) moves off the writer.
                    database.trackWAL()
                    walCopier = try WALCopier(path: path)
                }
            }
            try loadHead()
        } catch let error as DutyError {
            throw error
        } catch let error as SQLiteError {
            throw Self.explain(error, path: path, readOnly: readOnly)
        } catch {
            throw DutyError(.failure, "cannot set up the database '\(path)'", cause: "\(error)")
        }
    }

    private func userVersion() throws -> Int { Int(try database.scalar("PRAGMA user_version").int ?? 0) }

    private func migrate() throws {
        let version = try userVersion()
        guard version < Schema.migrations.count else { return }
        try database.transaction {
            for v in version..<Schema.migrations.count {
                try database.execute(Schema.migrations[v])
            }
            try database.execute("PRAGMA user_version = \(Schema.migrations.count)")
        }
    }

    private func loadHead() throws {
        var found = false
        try database.query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1") { row in
            head = (row.integer(0), row.string(1) ?? Self.genesis)
            found = true
        }
        if !found { head = (0, Self.genesis) }
        // The rule (every 1,000 events, or an hour) counts from the last checkpoint in the log, else from the
        // first event: across restarts, so a log built by many short runs gets its checkpoints too.
        lastCheckpoint = (0, try logBegins()?.timeIntervalSince1970 ?? 0)
        try database.query("SELECT seq, at FROM events WHERE type = 'log.checkpoint' ORDER BY seq DESC LIMIT 1") {
            row in
            let at = row.string(1).flatMap { ISOTime.parse($0, timeZone: TimeZone(identifier: "UTC")!) }
            lastCheckpoint = (row.integer(0), at?.timeIntervalSince1970 ?? 0)
        }
    }

    /// Runs `body` in one write transaction. Events appended through the transaction are chained, applied to the
    /// projections and committed together, or not at all.
    @discardableResult
    public func write<T>(at now: Date, _ body: (Transaction) throws -> T) throws -> T {
        guard !readOnly else { throw DutyError(.permissionDenied, "the database is open read-only") }
        let saved = head
        do {
            let result = try database.transaction {
                let tx = Transaction(store: self, at: now)
                let result = try body(tx)
                try checkpointIfDue(tx)
                try queueWriteBack(tx, after: saved.seq)
                return result
            }
            if let walCopier {
                let frames = database.framesInWAL
                if frames / 4 >= walCopyFrames {
                    // The copier has not caught up (a process stopped before its copies finish, or writes faster
                    // than it copies): the writer copies the log itself, as SQLite's own automatic checkpoint
                    // did, so the log stays bounded.
                    try? database.execute("PRAGMA wal_checkpoint(PASSIVE)")
                } else if frames >= walCopyFrames {
                    walCopier.request()
                }
            }
            return result
        } catch {
            head = saved
            throw describe(error)
        }
    }

    private func queueWriteBack(_ tx: Transaction, after previous: Int64) throws {
        guard !writeBackChannels.isEmpty, head.seq > previous else { return }
        let marks = Self.decisionTypes.map { _ in "?" }.joined(separator: ", ")
        let decided =
            try database.scalar(
                "SELECT count(*) FROM events WHERE seq > ? AND seq <= ? AND type IN (\(marks))",
                [.int(previous), .int(head.seq)] + Self.decisionTypes.map { .text($0) }
            ).int ?? 0
        guard decided > 0 else { return }
        let range = JSONValue.object([("from", .int(previous + 1)), ("to", .int(head.seq))]).serialized()
        for channel in writeBackChannels { try tx.enqueue(recipient: nil, body: range, at: Date(), channel: channel) }
    }

    deinit { walCopier?.wait() }

    /// Waits until the write-ahead log copies asked for so far are done; returns how many have run.
    @discardableResult
    func waitForWALCopies() -> Int { walCopier?.wait() ?? 0 }

    /// Holds the copier's copies back (for tests: a copier that never finishes).
    func pauseWALCopier() { walCopier?.paused = true }

    /// Appends events in one transaction.
    @discardableResult
    public func append(_ events: [NewEvent], at now: Date) throws -> [StoredEvent] {
        try write(at: now) { tx in
            var stored: [StoredEvent] = []
            stored.reserveCapacity(events.count)
            try tx.write(events) { part in stored.append(contentsOf: part.lazy.map(\.stored)) }
            return stored
        }
    }

    private func checkpointIfDue(_ tx: Transaction) throws {
        let t = tx.atSeconds
        guard head.seq > lastCheckpoint.seq,
            head.seq - lastCheckpoint.seq >= checkpointEvery
                || (lastCheckpoint.at > 0 && t - lastCheckpoint.at >= 3_600)
        else {
            if lastCheckpoint.at == 0 && head.seq > 0 { lastCheckpoint.at = t }
            return
        }
        let covered = head
        try tx.append(
            NewEvent(
                type: "log.checkpoint", data: .object([("seq", .int(covered.seq)), ("hash", .string(covered.hash))])))
        lastCheckpoint = (head.seq, t)
    }

    func describe(_ error: any Error) -> any Error {
        guard let e = error as? SQLiteError else { return error }
        return Self.explain(e, path: path, readOnly: readOnly)
    }

    /// What an SQLite error on the database at `path` means to whoever runs duty, and what to do: the file, the
    /// cause in words, the exit code (65 damage, 77 permission, 69 busy, 1 otherwise) and SQLite's own message as
    /// the cause.
    public static func explain(_ e: SQLiteError, path: String, readOnly: Bool) -> DutyError {
        if e.isFull {
            return DutyError(
                .failure,
                "the disk holding the database is full (\(path)): nothing was written; free space to resume",
                cause: e.description)
        }
        if e.isBusy {
            return DutyError(.unavailable, "the database '\(path)' is busy: try again", cause: e.description)
        }
        if e.isDamage {
            return DutyError(
                .invalidData,
                "the database '\(path)' is damaged (\(e.message)): stop dutyd, keep the file for inspection, and restore the last backup; 'duty verify' on the backup says how far its log is intact",
                cause: e.description)
        }
        if readOnly && e.isAccess {
            return DutyError(
                .permissionDenied,
                "cannot read the database '\(path)' (\(e.message)): you need read access to it and its folder, and a copy needs its -wal and -shm files beside it (copy all three, or let dutyd checkpoint it first)",
                cause: e.description)
        }
        if e.isAccess || e.isIO {
            return DutyError(
                .failure,
                "cannot write the database '\(path)' (\(e.message)): the file system may have gone read-only or the file's permissions changed; nothing accepted was lost (the last commit is on disk): fix the mount or permissions, then restart dutyd",
                cause: e.description)
        }
        return DutyError(.failure, "database error on '\(path)': \(e.message)", cause: e.description)
    }

    /// One write transaction: appends events and applies each to the projections at once, so that reads later in
    /// the same transaction see them.
    public final class Transaction {
        let store: Store
        public let at: Date
        let atText: String
        let atSeconds: Double

        init(store: Store, at: Date) {
            self.store = store
            self.at = at
            atText = ISOTime.format(at)
            atSeconds = at.timeIntervalSince1970.rounded(.down)
        }

        @discardableResult
        public func append(_ event: NewEvent) throws -> StoredEvent {
            let prepared = PreparedEvent(
                event, seq: store.head.seq + 1, previous: store.head.hash, at: atText, atSeconds: atSeconds)
            try write(prepared)
            return prepared.stored
        }

        /// Appends events in order, exactly as `append` one at a time would. A long batch is cut into parts: each
        /// part's rows, hashes and projection statements are prepared on another thread while the part before it
        /// is written, so the JSON and hashing overlap SQLite's work.
        public func append(contentsOf events: [NewEvent]) throws { try write(events) }

        /// Appends events as `append(contentsOf:)` does, showing each written part to `written`.
        func write(_ events: [NewEvent], written: ([PreparedEvent]) -> Void = { _ in }) throws {
            let part = 256
            guard events.count > part else {
                written(
                    try events.map { event in
                        let prepared = PreparedEvent(
                            event, seq: store.head.seq + 1, previous: store.head.hash, at: atText, atSeconds: atSeconds)
                        try write(prepared)
                        return prepared
                    })
                return
            }
            let ranges = stride(from: 0, to: events.count, by: part).map { $0..<min($0 + part, events.count) }
            let parts = Handoff<[PreparedEvent]>(count: ranges.count)
            let (first, previous, at, seconds) = (store.head.seq + 1, store.head.hash, atText, atSeconds)
            DispatchQueue.global(qos: .userInitiated).async {
                var seq = first
                var hash = previous
                for (i, range) in ranges.enumerated() {
                    guard parts.waitForRoom() else { break }
                    var prepared: [PreparedEvent] = []
                    prepared.reserveCapacity(range.count)
                    for event in events[range] {
                        let p = PreparedEvent(event, seq: seq, previous: hash, at: at, atSeconds: seconds)
                        seq += 1
                        hash = p.stored.hash
                        prepared.append(p)
                    }
                    parts.put(prepared, at: i)
                }
                parts.finish()
            }
            defer { parts.cancelAndWait() }
            for i in ranges.indices {
                let prepared = parts.take(i)
                for start in stride(from: 0, to: prepared.count, by: rowsPerInsert) {
                    try write(prepared[start..<min(start + rowsPerInsert, prepared.count)])
                }
                written(prepared)
                // Tearing down a written part's strings and arrays is a good share of the writer's time: another
                // thread does it.
                Store.releaseQueue.async { _ = prepared }
            }
        }

        /// Writes consecutive prepared events: a full group's rows with one statement, then each event's
        /// projection statements in order (projections never read the log, so this is the same as one by one).
        private func write(_ group: ArraySlice<PreparedEvent>) throws {
            guard group.count == rowsPerInsert, let insertMany = store.insertMany, let first = group.first,
                let last = group.last
            else {
                for p in group { try write(p) }
                return
            }
            precondition(
                first.stored.seq == store.head.seq + 1 && first.previous == store.head.hash
                    && last.stored.seq == first.stored.seq + Int64(group.count - 1), "events out of order")
            var row: [SQLValue] = []
            row.reserveCapacity(group.count * 8)
            for p in group { row.append(contentsOf: p.row) }
            try insertMany.run(row)
            store.head = (last.stored.seq, last.stored.hash)
            try Projector.run(group.flatMap(\.projection), on: store.database)
        }

        /// Writes a prepared event: its row, then its projection statements.
        private func write(_ p: PreparedEvent) throws {
            precondition(p.stored.seq == store.head.seq + 1 && p.previous == store.head.hash, "events out of order")
            try store.insert!.run(p.row)
            store.head = (p.stored.seq, p.stored.hash)
            try Projector.run(p.projection, on: store.database)
        }

        public var database: Database { store.database }
    }

    /// Empties the projections and replays the whole log into them: the proof that they are the fold of the
    /// events. Returns the number of events replayed.
    @discardableResult
    public func rebuild() throws -> Int {
        try database.transaction {
            for table in Schema.projections { try database.execute("DELETE FROM \(table)") }
            var events: [(String, String?, String, String, Int64, String)] = []
            try database.query("SELECT type, referral, actor, at, seq, data FROM events ORDER BY seq") { row in
                events.append(
                    (row.string(0)!, row.string(1), row.string(2)!, row.string(3)!, row.int(4)!, row.string(5)!))
            }
            let utc = TimeZone(identifier: "UTC")!
            for (type, referral, actor, at, seq, data) in events {
                let t = ISOTime.parse(at, timeZone: utc)?.timeIntervalSince1970 ?? 0
                try Projector.apply(
                    type: type, referral: referral, actor: actor, at: t, seq: seq,
                    data: JSONValue.parse(data) ?? .object([]), to: database)
            }
            return events.count
        }
    }

    /// Whether the rejections of a spool file (by its identity) are already in the log.
    public func rejectionsLogged(fileID: String) throws -> Bool {
        try database.scalar("SELECT count(*) FROM intake_files WHERE file_id = ?", [.text(fileID)]).int ?? 0 > 0
    }

    /// Every projection table's rows, sorted: for comparing live state with a rebuild.
    public func dumpProjections() throws -> [String: [[SQLValue]]] {
        var out: [String: [[SQLValue]]] = [:]
        let order = [
            "referrals": "id", "absences": "id", "escalations": "referral, reason, position", "last_worker": "person",
        ]
        for table in Schema.projections {
            out[table] = try database.rows("SELECT * FROM \(table) ORDER BY \(order[table] ?? "1")")
        }
        return out
    }
}

/// An event ready to store: its row, chained after `previous`, and what it does to the projections. Made from the
/// event alone, without the database.
struct PreparedEvent: Sendable {
    var stored: StoredEvent
    var previous: String
    /// The parameters of the insert into `events`.
    var row: [SQLValue]
    var projection: [ProjectionStatement]

    init(_ event: NewEvent, seq: Int64, previous: String, at: String, atSeconds: Double) {
        let data = event.data.serialized(sortedKeys: true)
        let hash = StoredEvent.hash(
            previous: previous, seq: seq, at: at, type: event.type, referral: event.referral, actor: event.actor,
            data: data)
        stored = StoredEvent(
            seq: seq, at: at, type: event.type, referral: event.referral, actor: event.actor, data: data, hash: hash)
        self.previous = previous
        let worker = StoredEvent.worker(type: event.type, data: event.data)
        row = [
            .int(seq), .text(at), .text(event.type), event.referral.map { .text($0) } ?? .null, .text(event.actor),
            .text(data), .text(hash), worker.map { .text($0) } ?? .null,
        ]
        projection = Projector.statements(
            type: event.type, referral: event.referral, actor: event.actor, at: atSeconds, seq: seq, data: event.data)
    }
}

/// Values made on one thread and taken, in order, on another: `take(i)` waits until part `i` is `put`. The maker
/// waits for room before making a part, so at most `ahead` parts are made and not yet taken (memory stays bounded
/// however long the batch).
final class Handoff<Value: Sendable>: Sendable {
    private let parts: Mutex<(values: [Value?], cancelled: Bool)>
    private let ready: [DispatchSemaphore]
    private let room: DispatchSemaphore
    private let done = DispatchSemaphore(value: 0)

    init(count: Int, ahead: Int = 4) {
        parts = Mutex((Array(repeating: nil, count: count), false))
        ready = (0..<count).map { _ in DispatchSemaphore(value: 0) }
        // Made at 0 and signalled up: libdispatch traps when a semaphore is freed below its initial value,
        // which a cancelled handoff may leave.
        room = DispatchSemaphore(value: 0)
        for _ in 0..<ahead { room.signal() }
    }

    /// Waits until a part may be made; false once cancelled.
    func waitForRoom() -> Bool {
        room.wait()
        return !parts.withLock { $0.cancelled }
    }

    func put(_ value: Value, at i: Int) {
        parts.withLock { $0.values[i] = value }
        ready[i].signal()
    }

    func take(_ i: Int) -> Value {
        ready[i].wait()
        defer { room.signal() }
        return parts.withLock { p in
            defer { p.values[i] = nil }
            return p.values[i]!
        }
    }

    /// The maker has stopped (after the last part, or early when cancelled).
    func finish() { done.signal() }

    /// Tells the maker to stop and waits until it has.
    func cancelAndWait() {
        parts.withLock { $0.cancelled = true }
        room.signal()  // a maker waiting for room wakes, sees the cancel and stops
        done.wait()
    }
}

/// Runs SQLite's checkpoint (copying committed pages from the write-ahead log into the database file) on a
/// connection and thread of its own, so the writer goes on while the pages are copied; PASSIVE, so it never makes
/// the writer or a reader wait. Requests made while one is queued are merged into it.
final class WALCopier: Sendable {
    private let database: Database
    private let queue = DispatchQueue(label: "duty.wal-copy")
    /// Whether a copy is queued and not yet started; how many have run; whether copies are held back (tests
    /// stand for a copier that never finishes this way).
    private let state = Mutex((queued: false, runs: 0, paused: false))

    var paused: Bool {
        get { state.withLock { $0.paused } }
        set { state.withLock { $0.paused = newValue } }
    }

    init(path: String) throws {
        database = try Database(.file(path))
        try database.execute("PRAGMA busy_timeout = 0")
    }

    func request() {
        let queue = state.withLock { s in
            defer { s.queued = true }
            return !s.queued
        }
        guard queue else { return }
        self.queue.async { self.copy() }
    }

    private func copy() {
        let paused = state.withLock { s in
            s.queued = false
            return s.paused
        }
        guard !paused else { return }
        // A busy database (a writer restarting the log) is left for the next request.
        try? database.execute("PRAGMA wal_checkpoint(PASSIVE)")
        state.withLock { $0.runs += 1 }
    }

    /// Waits for the queued copy, if any; returns how many have run.
    @discardableResult
    func wait() -> Int {
        queue.sync {}
        return state.withLock { $0.runs }
    }
}

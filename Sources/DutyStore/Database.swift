import CSQLite
import DutyCore
import Foundation
import Synchronization

/// A SQLite error with its extended result code.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    public var sql: String?

    public var description: String { "sqlite error \(code): \(message)" + (sql.map { " in \($0)" } ?? "") }

    public init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// SQLITE_BUSY or SQLITE_LOCKED (any extended variant).
    public var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }
    /// SQLITE_FULL: the disk is full.
    public var isFull: Bool { code & 0xFF == SQLITE_FULL }
    /// SQLITE_CORRUPT or SQLITE_NOTADB: the file is damaged or not a database.
    public var isDamage: Bool { code & 0xFF == SQLITE_CORRUPT || code & 0xFF == SQLITE_NOTADB }
    /// SQLITE_IOERR: the operating system refused a read or write (a file system gone read-only, a bad disk).
    public var isIO: Bool { code & 0xFF == SQLITE_IOERR }
    /// SQLITE_READONLY or SQLITE_CANTOPEN.
    public var isAccess: Bool {
        code & 0xFF == SQLITE_READONLY || code & 0xFF == SQLITE_CANTOPEN || code & 0xFF == SQLITE_PERM
    }
}

/// A value bound to or read from a statement.
public enum SQLValue: Sendable, Hashable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)

    public var string: String? { if case .text(let s) = self { s } else { nil } }
    public var int: Int64? {
        switch self {
        case .int(let i): i
        // Truncates, as SQLite does; nil for a value no Int64 holds (Int64(d) would trap).
        case .double(let d): d.isFinite && abs(d) < 9.2e18 ? Int64(d) : nil
        default: nil
        }
    }
    public var double: Double? {
        switch self {
        case .double(let d): d
        case .int(let i): Double(i)
        default: nil
        }
    }
}

/// One SQLite connection. The handle sits behind a `Mutex`: every call takes the lock, so a connection may be
/// shared between threads, though the daemon uses it from its cycle queue only.
public final class Database: Sendable {
    public enum Location: Sendable {
        case memory
        case file(String)
    }

    /// The connection and its cache of prepared statements, by SQL text.
    struct Connection: ~Copyable {
        var db: OpaquePointer?
        var cache: [String: OpaquePointer] = [:]
        /// The statement used last, checked before the cache: a run of the same statement (a batch's projection
        /// inserts, a cycle's re-ratings) compares its SQL, usually the same literal, instead of hashing it.
        var last: (sql: String, stmt: OpaquePointer)?
        /// Frames in the write-ahead log after the last commit, once `trackWAL` is on (written by SQLite's hook
        /// during a commit, which runs under the lock).
        var walFrames: UnsafeMutablePointer<Int32>
    }

    private let handle: Mutex<Connection>
    public let location: Location
    public let readOnly: Bool

    public init(_ location: Location, readOnly: Bool = false) throws(SQLiteError) {
        self.location = location
        self.readOnly = readOnly
        var db: OpaquePointer?
        let path: String
        switch location {
        case .memory: path = ":memory:"
        case .file(let p): path = p
        }
        _ = Self.configured
        let flags =
            (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        if rc != SQLITE_OK {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(db)
            throw SQLiteError(code: rc, message: "\(message) (\(path))")
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5_000)
        let walFrames = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        walFrames.initialize(to: 0)
        handle = Mutex(Connection(db: db, walFrames: walFrames))
    }

    /// Process-wide settings, made once before the first connection opens (Swift runs a static initialiser once).
    private static let configured: Bool = {
        // Nothing here reads sqlite3_memory_used(); the statistics cost a global lock per allocation.
        _ = duty_sqlite_disable_memstatus()
        return true
    }()

    deinit {
        handle.withLock { c in
            for stmt in c.cache.values { sqlite3_finalize(stmt) }
            c.cache = [:]
            c.last = nil
            sqlite3_close_v2(c.db)
            c.db = nil
            c.walFrames.deallocate()
        }
    }

    /// Keeps the `-wal` and `-shm` files when the last connection closes, so that readers without write access to
    /// the folder can still open the database (SQLITE_FCNTL_PERSIST_WAL).
    public func persistWAL() {
        handle.withLock { c in
            var on: Int32 = 1
            _ = sqlite3_file_control(c.db, "main", SQLITE_FCNTL_PERSIST_WAL, &on)
        }
    }

    /// Turns off this connection's automatic checkpoints and counts the frames in the write-ahead log instead,
    /// for `framesInWAL`.
    public func trackWAL() {
        handle.withLock { c in duty_sqlite_track_wal(c.db, c.walFrames) }
    }

    /// Frames in the write-ahead log after this connection's last commit (with `trackWAL` on).
    public var framesInWAL: Int { handle.withLock { c in Int(c.walFrames.pointee) } }

    private static func error(_ db: OpaquePointer?, _ rc: Int32, _ sql: String? = nil) -> SQLiteError {
        SQLiteError(
            code: sqlite3_extended_errcode(db), message: db.map { String(cString: sqlite3_errmsg($0)) } ?? "\(rc)",
            sql: sql)
    }

    /// Runs one or more statements without results.
    public func execute(_ sql: String) throws(SQLiteError) {
        try handle.withLock { (c: inout Connection) throws(SQLiteError) in
            let rc = sqlite3_exec(c.db, sql, nil, nil, nil)
            if rc != SQLITE_OK { throw Self.error(c.db, rc, sql) }
        }
    }

    /// Runs a statement with bound parameters, calling `row` for each result row.
    public func query(
        _ sql: String, _ parameters: [SQLValue] = [], row: (Row) throws -> Void = { _ in }
    ) throws {
        try handle.withLock { (c: inout Connection) throws in
            let db = c.db
            var rc: Int32 = SQLITE_OK
            let stmt: OpaquePointer
            if let last = c.last, last.sql == sql {
                stmt = last.stmt
            } else if let cached = c.cache[sql] {
                stmt = cached
                c.last = (sql, cached)
            } else {
                var fresh: OpaquePointer?
                rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &fresh, nil)
                guard rc == SQLITE_OK, let fresh else { throw Self.error(db, rc, sql) }
                if c.cache.count >= 200 {
                    for s in c.cache.values { sqlite3_finalize(s) }
                    c.cache = [:]
                }
                c.cache[sql] = fresh
                c.last = (sql, fresh)
                stmt = fresh
            }
            defer {
                sqlite3_reset(stmt)
                sqlite3_clear_bindings(stmt)
            }
            rc = try Self.bind(parameters, to: stmt) {
                while true {
                    let step = sqlite3_step(stmt)
                    if step == SQLITE_DONE { break }
                    guard step == SQLITE_ROW else { throw Self.error(db, step, sql) }
                    try row(Row(stmt: stmt))
                }
            }
            guard rc == SQLITE_OK else { throw Self.error(db, rc, sql) }
        }
    }

    /// Binds `parameters` and runs `body`; returns the result code of a bind that failed, when one did (and `body`
    /// did not run). The strings' UTF-8 is copied once into one buffer and bound from there (SQLITE_STATIC) while
    /// `body` runs, instead of SQLite allocating a copy of each. The caller resets the statement and clears its
    /// bindings afterwards.
    private static func bind(_ parameters: [SQLValue], to stmt: OpaquePointer, _ body: () throws -> Void) rethrows
        -> Int32
    {
        var size = 0
        for case .text(let v) in parameters { size += v.utf8.count }
        var text: [UInt8] = []
        text.reserveCapacity(size)
        for case .text(let v) in parameters { text.append(contentsOf: v.utf8) }
        return try text.withUnsafeBufferPointer { buffer in
            var offset = 0
            for (i, parameter) in parameters.enumerated() {
                let position = Int32(i + 1)
                let rc: Int32
                switch parameter {
                case .null: rc = sqlite3_bind_null(stmt, position)
                case .int(let v): rc = sqlite3_bind_int64(stmt, position, v)
                case .double(let v): rc = sqlite3_bind_double(stmt, position, v)
                case .text(let v):
                    let count = v.utf8.count
                    if count == 0 {
                        // No bytes to point at: SQLite copies the empty string.
                        rc = sqlite3_bind_text(stmt, position, "", 0, duty_sqlite_transient())
                    } else {
                        rc = UnsafeRawPointer(buffer.baseAddress! + offset).withMemoryRebound(
                            to: CChar.self, capacity: count
                        ) { sqlite3_bind_text(stmt, position, $0, Int32(count), nil) }
                    }
                    offset += count
                }
                guard rc == SQLITE_OK else { return rc }
            }
            try body()
            return SQLITE_OK
        }
    }

    /// Rows as arrays of values.
    public func rows(_ sql: String, _ parameters: [SQLValue] = []) throws -> [[SQLValue]] {
        var out: [[SQLValue]] = []
        try query(sql, parameters) { out.append($0.values) }
        return out
    }

    /// The first column of the first row.
    public func scalar(_ sql: String, _ parameters: [SQLValue] = []) throws -> SQLValue {
        var value = SQLValue.null
        var seen = false
        try query(sql, parameters) { row in
            if !seen { value = row[0] }
            seen = true
        }
        return value
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// A prepared statement reused for many executions (the hot path of appends).
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        try handle.withLock { (c: inout Connection) throws(SQLiteError) in
            var stmt: OpaquePointer?
            let rc = sqlite3_prepare_v3(c.db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
            guard rc == SQLITE_OK, let stmt else { throw Self.error(c.db, rc, sql) }
            return Statement(stmt: stmt, database: self, sql: sql)
        }
    }

    fileprivate func run(_ statement: Statement, _ parameters: [SQLValue]) throws(SQLiteError) {
        try handle.withLock { (c: inout Connection) throws(SQLiteError) in
            let db = c.db
            let stmt = statement.stmt
            defer {
                sqlite3_reset(stmt)
                sqlite3_clear_bindings(stmt)
            }
            var step = SQLITE_DONE
            let rc = Self.bind(parameters, to: stmt) {
                step = sqlite3_step(stmt)
                while step == SQLITE_ROW { step = sqlite3_step(stmt) }
            }
            guard rc == SQLITE_OK else { throw Self.error(db, rc, statement.sql) }
            guard step == SQLITE_DONE else { throw Self.error(db, step, statement.sql) }
        }
    }
}

/// A statement prepared once and run many times.
public final class Statement: @unchecked Sendable {
    // The statement is used only while holding its database's handle lock.
    fileprivate let stmt: OpaquePointer
    private let database: Database
    fileprivate let sql: String

    fileprivate init(stmt: OpaquePointer, database: Database, sql: String) {
        self.stmt = stmt
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(stmt) }

    public func run(_ parameters: [SQLValue]) throws(SQLiteError) { try database.run(self, parameters) }
}

/// A result row, valid only inside the `query` callback.
public struct Row {
    fileprivate let stmt: OpaquePointer

    public var count: Int { Int(sqlite3_column_count(stmt)) }

    public subscript(_ i: Int) -> SQLValue {
        let c = Int32(i)
        switch sqlite3_column_type(stmt, c) {
        case SQLITE_INTEGER: return .int(sqlite3_column_int64(stmt, c))
        case SQLITE_FLOAT: return .double(sqlite3_column_double(stmt, c))
        case SQLITE_NULL: return .null
        default:
            guard let p = sqlite3_column_text(stmt, c) else { return .null }
            return .text(String(cString: p))
        }
    }

    public func string(_ i: Int) -> String? { self[i].string }
    public func int(_ i: Int) -> Int64? { self[i].int }
    public func double(_ i: Int) -> Double? { self[i].double }

    public var values: [SQLValue] { (0..<count).map { self[$0] } }

    // NOT NULL columns, read without an optional (SQLite gives "" / 0 for a NULL, which the schema rules out).
    public func text(_ i: Int) -> String {
        guard let p = sqlite3_column_text(stmt, Int32(i)) else { return "" }
        return String(
            decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(stmt, Int32(i)))), as: UTF8.self)
    }
    public func real(_ i: Int) -> Double { sqlite3_column_double(stmt, Int32(i)) }
    public func integer(_ i: Int) -> Int64 { sqlite3_column_int64(stmt, Int32(i)) }
}

import DutyCore
import Foundation

/// One message waiting in the outbox: what `notify_command` is given on stdin for one recipient.
public struct OutboxMessage: Sendable, Equatable {
    public var id: Int64
    public var created: Date
    /// The roster id it is for; nil when nobody in the chain was present.
    public var recipient: String?
    /// The message, one line of JSON.
    public var body: String
    public var attempts: Int
    public var nextAttempt: Date
    public var lastError: String?
    /// nil for a notification; `write_back.dir` or `write_back.url` for decisions for the case system, whose body
    /// is the range of seqs they cover (`{"from":41,"to":57}`).
    public var channel: String? = nil
}

/// How the outbox stands, for `duty status`.
public struct OutboxState: Sendable, Equatable {
    public var pending: Int
    /// When the oldest unsent message was queued.
    public var oldest: Date?
    /// Messages that have failed at least once and wait for a retry.
    public var retrying: Int
    public var lastError: String?
}

/// The outbox: notifications are rows written in the same transaction as the events they report, so a crash
/// loses none and sends none for events that were not kept; a sender marks each sent when the hook succeeds, or
/// schedules a retry. Not a projection: `rebuild` leaves it alone.
extension Store.Transaction {
    /// Queues `body` for `recipient`, to be sent from `at` (the wall clock: when it may be sent, whatever
    /// virtual time the cycle runs at).
    public func enqueue(recipient: String?, body: String, at: Date, channel: String? = nil) throws {
        let t = SQLValue.double(at.timeIntervalSince1970)
        try store.database.query(
            "INSERT INTO outbox (created, recipient, body, attempts, next_attempt, channel) VALUES (?, ?, ?, 0, ?, ?)",
            [t, recipient.map { .text($0) } ?? .null, .text(body), t, channel.map { .text($0) } ?? .null])
    }
}

extension Store {
    /// Unsent messages due by `now`, oldest first, at most `limit`.
    public func outboxDue(now: Date, limit: Int = 100) throws -> [OutboxMessage] {
        var out: [OutboxMessage] = []
        try database.query(
            """
            SELECT id, created, recipient, body, attempts, next_attempt, last_error FROM outbox
            WHERE sent IS NULL AND channel IS NULL AND next_attempt <= ? ORDER BY id LIMIT ?
            """, [.double(now.timeIntervalSince1970), .int(Int64(limit))]
        ) { row in
            out.append(
                OutboxMessage(
                    id: row.integer(0), created: Date(timeIntervalSince1970: row.real(1)), recipient: row.string(2),
                    body: row.text(3), attempts: Int(row.integer(4)),
                    nextAttempt: Date(timeIntervalSince1970: row.real(5)), lastError: row.string(6)))
        }
        return out
    }

    /// Teams with a `capacity.exceeded` alert standing, with when it was raised.
    public func capacityAlerts() throws -> [(team: String, since: Date)] {
        guard try database.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'capacity_alerts'").int == 1 else {
            return []
        }
        var out: [(String, Date)] = []
        try database.query("SELECT team, since FROM capacity_alerts ORDER BY team") { row in
            out.append((row.text(0), Date(timeIntervalSince1970: row.real(1))))
        }
        return out
    }

    /// Unsent messages for `recipient` due by `now`, oldest first (what one send may carry together).
    public func outboxDue(recipient: String?, now: Date, limit: Int = 100) throws -> [OutboxMessage] {
        try outboxDue(now: now, limit: 10_000).filter { $0.recipient == recipient }.prefix(limit).map { $0 }
    }

    /// When the next unsent notification is due, if any.
    public func outboxNextAttempt() throws -> Date? {
        try database.scalar("SELECT min(next_attempt) FROM outbox WHERE sent IS NULL AND channel IS NULL").double.map {
            Date(timeIntervalSince1970: $0)
        }
    }

    /// The oldest unsent message of a write-back channel, due or not: a channel sends strictly in order, so a
    /// message waiting for its retry holds back those after it.
    public func outboxNext(channel: String) throws -> OutboxMessage? {
        var out: OutboxMessage?
        try database.query(
            """
            SELECT id, created, recipient, body, attempts, next_attempt, last_error FROM outbox
            WHERE sent IS NULL AND channel = ? ORDER BY id LIMIT 1
            """, [.text(channel)]
        ) { row in
            out = OutboxMessage(
                id: row.integer(0), created: Date(timeIntervalSince1970: row.real(1)), recipient: row.string(2),
                body: row.text(3), attempts: Int(row.integer(4)),
                nextAttempt: Date(timeIntervalSince1970: row.real(5)), lastError: row.string(6), channel: channel)
        }
        return out
    }

    /// Records a successful delivery.
    public func outboxSent(_ id: Int64, at now: Date) throws {
        try outboxUpdate(
            "UPDATE outbox SET sent = ?, attempts = attempts + 1 WHERE id = ?",
            [
                .double(now.timeIntervalSince1970), .int(id),
            ])
    }

    /// Records a failed delivery and when to try again.
    public func outboxFailed(_ id: Int64, error: String, retryAt: Date) throws {
        try outboxUpdate(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?",
            [.double(retryAt.timeIntervalSince1970), .text(error), .int(id)])
    }

    /// Unsent messages of `channel` (nil: notifications): how many, since when, how many are retrying, and the
    /// last error.
    public func outboxState(channel: String? = nil) throws -> OutboxState {
        var state = OutboxState(pending: 0, oldest: nil, retrying: 0, lastError: nil)
        // A database the daemon has not yet migrated has no outbox: nothing is queued in it.
        guard try database.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'outbox'").int == 1 else {
            return state
        }
        let hasChannels =
            try database.scalar("SELECT count(*) FROM pragma_table_info('outbox') WHERE name = 'channel'").int == 1
        guard hasChannels || channel == nil else { return state }
        let which = hasChannels ? (channel == nil ? " AND channel IS NULL" : " AND channel = ?") : ""
        let parameters: [SQLValue] = channel.map { [.text($0)] } ?? []
        try database.query(
            "SELECT count(*), min(created), sum(attempts > 0) FROM outbox WHERE sent IS NULL" + which, parameters
        ) { row in
            state.pending = Int(row.integer(0))
            state.oldest = row.double(1).map { Date(timeIntervalSince1970: $0) }
            state.retrying = Int(row.int(2) ?? 0)
        }
        try database.query(
            "SELECT last_error FROM outbox WHERE sent IS NULL AND last_error IS NOT NULL" + which
                + " ORDER BY id DESC LIMIT 1", parameters
        ) { row in state.lastError = row.string(0) }
        return state
    }

    private func outboxUpdate(_ sql: String, _ parameters: [SQLValue]) throws {
        guard !readOnly else { throw DutyError(.permissionDenied, "the database is open read-only") }
        do {
            try database.transaction { try database.query(sql, parameters) }
        } catch {
            throw describe(error)
        }
    }
}

extension Store {
    /// The events a case system is told of: decisions and what changes them.
    public static let decisionTypes = [
        "allocation.assigned", "allocation.blocked", "override.assigned", "override.unassigned", "override.rerated",
        "referral.closed", "triage.rated", "triage.rerated", "escalation.raised",
    ]

    /// The decision events with seq in `from...to`, in seq order.
    public func decisions(from: Int64, to: Int64) throws -> [StoredEvent] {
        var out: [StoredEvent] = []
        let marks = Self.decisionTypes.map { _ in "?" }.joined(separator: ", ")
        try database.query(
            "SELECT \(Self.eventColumns) FROM events WHERE seq BETWEEN ? AND ? AND type IN (\(marks)) ORDER BY seq",
            [.int(from), .int(to)] + Self.decisionTypes.map { .text($0) }
        ) { out.append(Self.event($0)) }
        return out
    }

    /// The cursor `source` was last read to (its last `source.page`), nil before its first page.
    public func sourceCursor(_ source: String) throws -> String? {
        try database.scalar("SELECT cursor FROM source_cursors WHERE source = ?", [.text(source)]).string
    }
}

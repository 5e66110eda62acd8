import DutyCore
import DutyPolicy
import DutyStore
import Foundation

/// How the pull from the case system stands, for `duty status` and the log.
struct SourceState: Sendable {
    var lastSuccess: Date?
    var failingSince: Date?
    var lastError: String?
    /// Failures in a row.
    var failures = 0
    /// Referrals read in the last successful page.
    var lastReferrals = 0

    var json: JSONValue {
        .object([
            ("ok", .bool(failingSince == nil)), ("last_success", .time(lastSuccess)),
            ("failing_since", .time(failingSince)), ("failures", .int(Int64(failures))),
            ("last_error", .string(lastError)),
        ])
    }
}

/// Pulls referrals from the case system's endpoint (config `source`): `GET URL?since=CURSOR&limit=N` every
/// `every`, page after page while the answer says `more`. Each page goes through the spool's intake (the same
/// decoder, events and rejected-record reporting, with the page's URL as its source) in one transaction with a
/// `source.page` event that records the cursor to ask for next: the cursor moves only with the referrals it
/// covers, so across a crash a page is read again, never skipped, and reading it again changes nothing.
/// Requests run on a queue of their own: a slow or hanging endpoint never holds up a cycle or the spool.
final class CaseSystemSource: @unchecked Sendable {
    private unowned let daemon: Daemon
    let config: SourceConfig
    private let environment: [String: String]
    private let queue = DispatchQueue(label: "dutyd.source")
    private var timer: DispatchSourceTimer?
    /// On `daemon.queue`.
    private(set) var state = SourceState()
    /// When the last failure was logged, so a long outage is said every ten minutes, not at every retry.
    private var lastLogged: Date?

    init(daemon: Daemon, config: SourceConfig, environment: [String: String]) {
        self.daemon = daemon
        self.config = config
        self.environment = environment
    }

    /// Pages fetched in a row before the next wait: a backlog arrives in a few passes, not one unbounded one.
    static let pagesPerPass = 50

    func start() { queue.async { [self] in pass() } }

    /// Stops the timer. Asynchronous: a request in progress holds this queue and waits for the daemon's.
    func stop() { queue.async { [self] in timer?.cancel() } }

    /// One pass now, waiting for it (`dutyd --once`).
    func passNow() { queue.sync { pass(scheduling: false) } }

    private func pass(scheduling: Bool = true) {
        var wait = config.every.timeInterval
        do {
            for _ in 0..<Self.pagesPerPass {
                guard try fetchPage() else { break }
            }
        } catch {
            failed(error)
            wait = min(config.every.timeInterval, Self.backoff(afterFailures: daemon.queue.sync { state.failures }))
        }
        guard scheduling else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + wait)
        t.setEventHandler { [weak self] in self?.pass() }
        t.resume()
        timer?.cancel()
        timer = t
    }

    /// 5 s, 10 s, 20 s ... after failures in a row, at most five minutes.
    static func backoff(afterFailures n: Int) -> TimeInterval { min(300, 5 * pow(2, Double(min(10, max(0, n - 1))))) }

    /// Fetches and takes in the page after the stored cursor; whether the endpoint says there is more.
    private func fetchPage() throws(DutyError) -> Bool {
        let stored = daemon.queue.sync { Result { try daemon.store.sourceCursor(config.url) } }
        guard case .success(let cursor) = stored else {
            throw DutyError(.failure, "cannot read the source's cursor from the database")
        }
        guard var components = URLComponents(string: config.url) else {
            throw DutyError(.usage, "source url '\(config.url)' is not a URL")
        }
        var query = components.queryItems ?? []
        if let cursor { query.append(URLQueryItem(name: "since", value: cursor)) }
        query.append(URLQueryItem(name: "limit", value: String(config.pageSize)))
        components.queryItems = query
        guard let url = components.url else { throw DutyError(.usage, "source url '\(config.url)' is not a URL") }
        let token = try config.tokenFile.map { path throws(DutyError) in
            try DutyConfig.readToken(path, environment: environment)
        }
        let response = try HTTP.request(url, token: token, timeout: config.timeout.timeInterval)
        guard (200..<300).contains(response.status) else {
            throw DutyError(.unavailable, "\(HTTP.shown(url)): \(HTTP.describe(response))")
        }
        let taken = daemon.queue.sync {
            Result { () throws(DutyError) -> Daemon.PageResult in
                try daemon.ingestPage(Array(response.body), source: HTTP.shown(url), base: config.url, since: cursor)
            }
        }
        let page = try taken.get()
        daemon.queue.sync {
            if state.failingSince != nil {
                daemon.log.notice("source: \(HTTP.shown(URL(string: config.url)!)) answers again")
            }
            state.lastSuccess = Date()
            state.failingSince = nil
            state.lastError = nil
            state.failures = 0
            state.lastReferrals = page.referrals
            lastLogged = nil
            if page.new + page.updated + page.closed + page.rejected > 0 {
                daemon.log.info(
                    "source: \(page.referrals) referrals (\(page.new) new, \(page.updated) updated, \(page.closed) closed, \(page.rejected) rejected) from \(HTTP.shown(url))"
                )
            }
        }
        return page.more
    }

    private func failed(_ error: DutyError) {
        daemon.queue.sync {
            let now = Date()
            state.failures += 1
            if state.failingSince == nil { state.failingSince = now }
            let changed = state.lastError != error.message
            state.lastError = error.message
            if changed || lastLogged.map({ now.timeIntervalSince($0) >= 600 }) ?? true {
                lastLogged = now
                daemon.log.warning(
                    "source: \(error.message) (failing since \(ISOTime.format(state.failingSince!)), \(state.failures) attempt\(state.failures == 1 ? "" : "s"); the spool keeps working; retried in \(Int(Self.backoff(afterFailures: state.failures))) s)"
                )
            }
        }
    }
}

extension Daemon {
    /// What one page brought.
    struct PageResult {
        var more: Bool
        var referrals = 0
        var new = 0
        var updated = 0
        var closed = 0
        var rejected = 0
    }

    /// Takes in one page of the source: `{"referrals": [records], "cursor": "...", "more": false}`. Valid records
    /// go through intake as the spool's do; each invalid one is an `intake.rejected` event naming the page and its
    /// index; the `source.page` event records the cursor to ask for next. All in one transaction. A page that is
    /// not that shape is refused whole: nothing is taken, the cursor stays, and the error says why.
    func ingestPage(_ bytes: [UInt8], source: String, base: String, since: String?) throws(DutyError) -> PageResult {
        dispatchPrecondition(condition: .onQueue(queue))
        let node: JSONNode
        do {
            node = try JSON5Parser.parse(bytes: bytes, recordStringPositions: false)
        } catch {
            throw DutyError(.invalidData, "\(source): the page is not JSON (\(error.message)): nothing taken")
        }
        guard case .object(let members) = node.value,
            let list = members.first(where: { $0.key == "referrals" })?.value,
            case .array(let items) = list.value,
            let cursorNode = members.first(where: { $0.key == "cursor" })?.value,
            case .string(let cursor) = cursorNode.value, !cursor.isEmpty, cursor.utf8.count <= 1_024
        else {
            throw DutyError(
                .invalidData,
                "\(source): the page is not {\"referrals\": [...], \"cursor\": \"...\", \"more\": false}: nothing taken"
            )
        }
        var more = false
        if let m = members.first(where: { $0.key == "more" })?.value, case .bool(let b) = m.value { more = b }
        let now = clock()
        let decoder = policies.intakeDecoder(timeZone: config.timeZone, roster: roster, now: now)
        var batch: [Referral] = []
        var problems: [(index: Int, field: String?, message: String)] = []
        var seen: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            switch decoder.decode(item) {
            case .valid(var referral):
                if referral.team == nil { referral.team = roster.teamForKind[referral.kind] }
                if let first = seen[referral.id] {
                    problems.append(
                        (i + 1, "id", "'\(referral.id)' appears twice in this page (first at index \(first))"))
                    continue
                }
                seen[referral.id] = i + 1
                batch.append(referral)
            case .invalid(let errors):
                for e in errors { problems.append((i + 1, e.field.isEmpty ? nil : e.field, e.message)) }
            }
        }
        var result = PageResult(more: more, referrals: items.count)
        do {
            try store.write(at: now) { tx in
                let taken = try tx.intake(batch, source: source)
                result.new = taken.new.count
                result.updated = taken.updated.count
                result.closed = taken.closed.count
                result.rejected = Set(problems.map(\.index)).count
                for p in problems {
                    try tx.append(
                        NewEvent(
                            type: "intake.rejected",
                            data: .object([
                                ("file", .string(source)), ("file_id", .string("\(base)#\(since ?? "")")),
                                ("index", .int(Int64(p.index))), ("line", .null), ("field", .string(p.field)),
                                ("message", .string(p.message)),
                            ])))
                }
                try tx.append(
                    NewEvent(
                        type: "source.page",
                        data: .object([
                            ("source", .string(base)), ("since", .string(since)), ("cursor", .string(cursor)),
                            ("referrals", .int(Int64(items.count))), ("new", .int(Int64(result.new))),
                            ("updated", .int(Int64(result.updated))), ("closed", .int(Int64(result.closed))),
                            ("rejected", .int(Int64(result.rejected))),
                        ])))
            }
        } catch let error as DutyError {
            throw error
        } catch {
            throw DutyError(.failure, "\(source): the page could not be stored", cause: "\(error)")
        }
        publishHead()
        delivery.pump()
        return result
    }
}

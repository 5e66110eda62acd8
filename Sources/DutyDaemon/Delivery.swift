import DutyCore
import DutyEngine
import DutyStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Sends the outbox: notifications through `notify_command`, one message at a time, oldest first: marked sent
/// when the hook exits 0 having read its input, otherwise retried after 1, 2, 4 ... minutes (at most an hour
/// apart); and each write-back channel (`write_back.dir`, `write_back.url`) strictly in order, a failed message
/// holding back those after it until its retry succeeds. The outbox is in the database, so nothing is lost when
/// dutyd stops (SIGTERM, a crash): the next start resumes, and a message may go twice (at least once), which
/// the receiver's deduplication by `seq` absorbs.
///
/// The bookkeeping runs on the daemon's queue (the one connection's transactions never interleave); the hook
/// runs on `worker`, so a slow hook never holds up a cycle.
final class Delivery: @unchecked Sendable {
    // Everything but `run` is used on `daemon.queue`.
    private unowned let daemon: Daemon
    private let worker = DispatchQueue(label: "dutyd.delivery")
    private var busy = false
    private var stopped = false
    private var retryTimer: DispatchSourceTimer?
    private let environment: [String: String]

    /// A write-back channel: its sink, its own queue (a slow receiver holds up nothing else) and its state
    /// (`busy`, `timer`: used on the daemon's queue only).
    private final class Lane: @unchecked Sendable {
        let sink: any WriteBackSink
        let queue: DispatchQueue
        var busy = false
        var timer: DispatchSourceTimer?

        init(_ name: String, _ sink: any WriteBackSink) {
            self.sink = sink
            queue = DispatchQueue(label: "dutyd.\(name)")
        }
    }
    private var lanes: [(name: String, lane: Lane)] = []

    init(daemon: Daemon, environment: [String: String]) {
        self.daemon = daemon
        self.environment = environment
        if let w = daemon.config.writeBack {
            if let dir = w.dir { lanes.append(("write_back.dir", Lane("write_back.dir", FileSink(dir: dir)))) }
            if let url = w.url {
                lanes.append(
                    (
                        "write_back.url",
                        Lane(
                            "write_back.url",
                            HTTPSink(
                                url: url, tokenFile: w.tokenFile, timeout: w.timeout.timeInterval,
                                environment: environment))
                    ))
            }
        }
    }

    /// The channels it sends write-back on: what the store queues for.
    var writeBackChannels: [String] { lanes.map(\.name) }

    /// The wait before attempt `n + 1` after `n` failures: `first`, twice that, four times ..., at most an hour.
    static func backoff(afterFailures n: Int, first: TimeInterval) -> TimeInterval {
        min(3_600, first * pow(2, Double(min(30, max(0, n - 1)))))
    }

    private var hook: Hook? {
        daemon.config.notifyCommand.map { Hook(argv: $0, timeout: daemon.config.notifyTimeout.timeInterval) }
    }

    /// Sends what is due, if nothing is being sent. Call after each cycle.
    func pump() {
        dispatchPrecondition(condition: .onQueue(daemon.queue))
        for (name, lane) in lanes { pump(name, lane) }
        pumpNotifications()
    }

    private func pumpNotifications() {
        guard !busy, !stopped, let hook else { return }
        let now = Date()
        let due: [OutboxMessage]
        do {
            due = try daemon.store.outboxDue(now: now, limit: 1)
        } catch {
            daemon.log.error("outbox: cannot read it: \((error as? DutyError)?.message ?? "\(error)")")
            return
        }
        guard let first = due.first else {
            scheduleRetry()
            return
        }
        let (group, body) = batch(first, now: now)
        busy = true
        let environment = self.environment
        worker.async { [self] in
            let outcome = hook.run(input: Array((body + "\n").utf8), environment: environment)
            daemon.queue.async { [self] in finish(group, outcome) }
        }
    }

    /// The oldest due message with every other due one for the same person, as one body (Alertmanager's
    /// grouping: messages that waited together go together). Messages that are not notifications go alone.
    private func batch(_ first: OutboxMessage, now: Date) -> ([OutboxMessage], String) {
        guard let same = try? daemon.store.outboxDue(recipient: first.recipient, now: now), same.count > 1,
            let merged = Digest.merged(same.compactMap { JSONValue.parse($0.body) }),
            same.count
                == same.compactMap({
                    JSONValue.parse($0.body)
                }).count
        else { return ([first], first.body) }
        return (same, merged.serialized())
    }

    private func finish(_ messages: [OutboxMessage], _ outcome: Hook.Outcome) {
        for message in messages { finish(message, outcome, pumping: false) }
        guard !stopped else { return }
        pumpNotifications()
    }

    private func finish(_ message: OutboxMessage, _ outcome: Hook.Outcome, pumping: Bool = true) {
        busy = false
        let log = daemon.log
        let program = daemon.config.notifyCommand?.first ?? "notify_command"
        if !outcome.stderr.isEmpty {
            log.info(
                "notify_command said: \(outcome.stderr.count >= 2_048 ? outcome.stderr + "... (cut)" : outcome.stderr)")
        }
        do {
            if let error = outcome.error {
                let retry = Date().addingTimeInterval(
                    Self.backoff(afterFailures: message.attempts + 1, first: daemon.config.notifyRetry.timeInterval))
                try daemon.store.outboxFailed(message.id, error: error, retryAt: retry)
                log.warning(
                    "notify_command \(program) failed for message \(message.id) (to \(message.recipient ?? "nobody present")): \(error); retried at \(ISOTime.format(retry))"
                )
            } else {
                try daemon.store.outboxSent(message.id, at: Date())
            }
        } catch {
            log.error("outbox: \((error as? DutyError)?.message ?? "\(error)")")
            return
        }
        guard pumping, !stopped else { return }
        pumpNotifications()
    }

    /// Wakes at the earliest retry, so a failed message is sent again without waiting for a cycle.
    private func scheduleRetry() {
        retryTimer?.cancel()
        retryTimer = nil
        guard let next = try? daemon.store.outboxNextAttempt() else { return }
        let delay = max(1, next.timeIntervalSinceNow)
        let t = DispatchSource.makeTimerSource(queue: daemon.queue)
        t.schedule(deadline: .now() + delay)
        t.setEventHandler { [weak self] in self?.pumpNotifications() }
        t.resume()
        retryTimer = t
    }

    /// Stops sending: what is unsent stays in the outbox for the next start.
    func stop() {
        stopped = true
        retryTimer?.cancel()
        for (_, lane) in lanes { lane.timer?.cancel() }
    }

    /// The lines of a write-back message: its range's decision events as `duty log --format json` writes them.
    private func lines(_ message: OutboxMessage) throws -> (lines: [String], from: Int64, to: Int64) {
        let range = JSONValue.parse(message.body)
        guard let from = range?["from"]?.intValue, let to = range?["to"]?.intValue else {
            throw DutyError(.invalidData, "write-back message \(message.id) has no range")
        }
        return (try daemon.store.decisions(from: from, to: to).map(\.jsonLine), from, to)
    }

    /// Sends a channel's oldest unsent message when it is due; when it waits for a retry, wakes then.
    private func pump(_ name: String, _ lane: Lane) {
        guard !lane.busy, !stopped else { return }
        let message: OutboxMessage
        let content: (lines: [String], from: Int64, to: Int64)
        do {
            guard let next = try daemon.store.outboxNext(channel: name) else { return }
            message = next
            if message.nextAttempt > Date() {
                lane.timer?.cancel()
                let t = DispatchSource.makeTimerSource(queue: daemon.queue)
                t.schedule(deadline: .now() + max(1, message.nextAttempt.timeIntervalSinceNow))
                t.setEventHandler { [weak self] in self?.pump(name, lane) }
                t.resume()
                lane.timer = t
                return
            }
            content = try lines(message)
        } catch {
            daemon.log.error("\(name): \((error as? DutyError)?.message ?? "\(error)")")
            return
        }
        lane.busy = true
        lane.queue.async { [self] in
            let failure =
                content.lines.isEmpty ? nil : lane.sink.deliver(content.lines, from: content.from, to: content.to)
            daemon.queue.async { [self] in
                lane.busy = false
                finish(name, message, failure)
                pump(name, lane)
            }
        }
    }

    private func finish(_ name: String, _ message: OutboxMessage, _ failure: String?) {
        do {
            if let failure {
                let retry = Date().addingTimeInterval(Self.backoff(afterFailures: message.attempts + 1, first: 10))
                try daemon.store.outboxFailed(message.id, error: failure, retryAt: retry)
                daemon.log.warning(
                    "\(name): \(failure); decisions wait, in order, and are sent again at \(ISOTime.format(retry))")
            } else {
                try daemon.store.outboxSent(message.id, at: Date())
            }
        } catch {
            daemon.log.error("\(name): \((error as? DutyError)?.message ?? "\(error)")")
        }
    }

    /// Sends everything due now, once each, waiting for each hook and sink (`--once`): what fails stays queued.
    func drain() {
        for (name, lane) in lanes {
            while let message = try? daemon.queue.sync(execute: { try daemon.store.outboxNext(channel: name) }),
                message.nextAttempt <= Date(),
                let content = try? daemon.queue.sync(execute: { try lines(message) })
            {
                let failure =
                    content.lines.isEmpty ? nil : lane.sink.deliver(content.lines, from: content.from, to: content.to)
                daemon.queue.sync { finish(name, message, failure) }
                if failure != nil { break }
            }
        }
        guard let hook else { return }
        var tried = Set<Int64>()
        while let message = try? daemon.queue.sync(execute: {
            try daemon.store.outboxDue(now: Date(), limit: 200).first { !tried.contains($0.id) }
        }) {
            let (group, body) = daemon.queue.sync { batch(message, now: Date()) }
            group.forEach { tried.insert($0.id) }
            let outcome = hook.run(input: Array((body + "\n").utf8), environment: environment)
            daemon.queue.sync {
                for m in group { finish(m, outcome, pumping: false) }
            }
        }
    }
}

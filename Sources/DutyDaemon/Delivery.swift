import DutyCore
import DutyStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Sends the outbox through `notify_command`, one message at a time, oldest first: marked sent when the hook
/// exits 0 having read its input, otherwise retried after 1, 2, 4 ... minutes (at most an hour apart). The
/// outbox is in the database, so nothing is lost when dutyd stops (SIGTERM, a crash): the next start resumes.
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

    init(daemon: Daemon, environment: [String: String]) {
        self.daemon = daemon
        self.environment = environment
    }

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
        guard !busy, !stopped, let hook else { return }
        let now = Date()
        let due: [OutboxMessage]
        do {
            due = try daemon.store.outboxDue(now: now, limit: 1)
        } catch {
            daemon.log.error("outbox: cannot read it: \((error as? DutyError)?.message ?? "\(error)")")
            return
        }
        guard let message = due.first else {
            scheduleRetry()
            return
        }
        busy = true
        let environment = self.environment
        worker.async { [self] in
            let outcome = hook.run(input: Array((message.body + "\n").utf8), environment: environment)
            daemon.queue.async { [self] in finish(message, outcome) }
        }
    }

    private func finish(_ message: OutboxMessage, _ outcome: Hook.Outcome) {
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
        guard !stopped else { return }
        pump()
    }

    /// Wakes at the earliest retry, so a failed message is sent again without waiting for a cycle.
    private func scheduleRetry() {
        retryTimer?.cancel()
        retryTimer = nil
        guard let next = try? daemon.store.outboxNextAttempt() else { return }
        let delay = max(1, next.timeIntervalSinceNow)
        let t = DispatchSource.makeTimerSource(queue: daemon.queue)
        t.schedule(deadline: .now() + delay)
        t.setEventHandler { [weak self] in self?.pump() }
        t.resume()
        retryTimer = t
    }

    /// Stops sending: what is unsent stays in the outbox for the next start.
    func stop() {
        stopped = true
        retryTimer?.cancel()
    }

    /// Sends everything due now, once each, waiting for each hook (`--once`): what fails stays queued.
    func drain() {
        guard let hook else { return }
        var tried = Set<Int64>()
        while let message = try? daemon.queue.sync(execute: {
            try daemon.store.outboxDue(now: Date(), limit: 200).first { !tried.contains($0.id) }
        }) {
            tried.insert(message.id)
            let outcome = hook.run(input: Array((message.body + "\n").utf8), environment: environment)
            daemon.queue.sync { finishOnce(message, outcome) }
        }
    }

    private func finishOnce(_ message: OutboxMessage, _ outcome: Hook.Outcome) {
        let wasStopped = stopped
        stopped = true  // record the outcome without starting the next send
        finish(message, outcome)
        stopped = wasStopped
    }
}

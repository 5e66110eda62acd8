import DutyCore
import DutyStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The long-running daemon: a cycle every `cycle` on the daemon's serial queue, signals as Dispatch sources,
/// systemd notifications, and an orderly stop.
final class Runner: @unchecked Sendable {
    // Everything here runs on `daemon.queue` (signals and timers are delivered there).
    let daemon: Daemon
    let notifier: SystemdNotifier
    let watchdogInterval: Double?
    let demo: Bool
    private var sources: [DispatchSourceProtocol] = []
    private var timer: DispatchSourceTimer?
    private var cycleSeconds: Double = 0
    private var ready = false
    private var generator: DemoGenerator?
    private var control: ControlServer?
    private var activated = false
    /// Test hook: `DUTYD_TEST_CYCLE_SLEEP` (seconds) makes every cycle that long, to show that a hung cycle stops
    /// the watchdog pings.
    private let testCycleSleep: Double

    init(daemon: Daemon, environment: [String: String], demo: Bool) {
        self.daemon = daemon
        self.demo = demo
        notifier = SystemdNotifier(environment: environment)
        // The watchdog is ours only when WATCHDOG_PID is unset or names this process (sd_watchdog_enabled(3)).
        let watchdogPID = environment["WATCHDOG_PID"].flatMap(Int32.init)
        watchdogInterval =
            watchdogPID == nil || watchdogPID == getpid()
            ? environment["WATCHDOG_USEC"].flatMap(Double.init).map { $0 / 1_000_000 / 2 } : nil
        testCycleSleep = environment["DUTYD_TEST_CYCLE_SLEEP"].flatMap(Double.init) ?? 0
    }

    func start(environment: [String: String]) {
        // SIGPIPE: a client that goes away must not kill the daemon.
        signal(SIGPIPE, SIG_IGN)
        // systemd socket activation: the listening socket arrives as fd 3.
        var activatedFD: Int32?
        if environment["LISTEN_PID"].flatMap(Int32.init) == getpid(),
            (environment["LISTEN_FDS"].flatMap(Int.init) ?? 0) >= 1
        {
            activatedFD = 3
            activated = true
        }
        do {
            let server = try ControlServer(daemon: daemon, activatedFD: activatedFD)
            server.start()
            control = server
        } catch {
            daemon.log.error("\(error.message): dutyd cannot take requests, so it stops")
            exit(error.code.exitCode)
        }
        // Linux: ignore each signal before its Dispatch source is activated, or it is lost (STYLE.md).
        for (sig, handler) in [(SIGTERM, stop), (SIGINT, stop), (SIGHUP, reload), (SIGUSR1, cycleNow)]
            as [(Int32, () -> Void)]
        {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: daemon.queue)
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
        if let interval = watchdogInterval, interval > 0 {
            // Pings come from the cycle queue, so a hung cycle stops them and systemd restarts the service.
            let watchdog = DispatchSource.makeTimerSource(queue: daemon.queue)
            watchdog.schedule(deadline: .now() + interval, repeating: interval)
            watchdog.setEventHandler { [notifier] in notifier.notify("WATCHDOG=1") }
            watchdog.resume()
            sources.append(watchdog)
        }
        // A first cycle over a large backlog can outlast systemd's start timeout: ask for more time now, and
        // again (with a watchdog ping) as it makes progress.
        notifier.notify("EXTEND_TIMEOUT_USEC=120000000")
        var lastProgress = Date()
        daemon.progress = { [self] in
            guard Date().timeIntervalSince(lastProgress) >= 5 else { return }
            lastProgress = Date()
            if !ready { notifier.notify("EXTEND_TIMEOUT_USEC=120000000") }
            if watchdogInterval != nil { notifier.notify("WATCHDOG=1") }
        }
        daemon.queue.async { [self] in
            logEvent("daemon.started")
            if demo { generator = DemoGenerator(daemon: daemon) }
            runCycle()
            ready = true
            notifier.notify("READY=1")
            daemon.log.notice(
                "dutyd \(DutyVersion.string) running: a cycle every \(daemon.config.cycle), database \(daemon.config.databasePath)"
            )
            schedule()
            daemon.source?.start()
        }
    }

    private func schedule() {
        dispatchPrecondition(condition: .onQueue(daemon.queue))
        let seconds = daemon.config.cycle.timeInterval
        guard seconds != cycleSeconds else { return }
        timer?.cancel()
        let t = DispatchSource.makeTimerSource(queue: daemon.queue)
        t.schedule(deadline: .now() + seconds, repeating: seconds, leeway: .milliseconds(100))
        t.setEventHandler { [weak self] in self?.runCycle() }
        t.resume()
        timer = t
        cycleSeconds = seconds
    }

    private func runCycle() {
        dispatchPrecondition(condition: .onQueue(daemon.queue))
        generator?.drop()
        if testCycleSleep > 0 { usleep(UInt32(testCycleSleep * 1_000_000)) }
        do {
            let report = try daemon.cycle()
            daemon.record(report, at: daemon.clock())
            daemon.delivery.pump()
            notifier.notify("STATUS=\(report.status)")
            if report.decisions > 0 || report.intake.new + report.intake.updated + report.intake.closed > 0 {
                daemon.log.info(report.status)
            }
        } catch {
            let message = (error as? DutyError)?.message ?? "\(error)"
            daemon.log.error("cycle failed: \(message)")
            notifier.notify("STATUS=error: \(message)")
            daemon.delivery.pump()  // what was queued before still goes out
        }
    }

    private func cycleNow() { runCycle() }

    private func reload() {
        notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(SystemdNotifier.monotonicMicroseconds())")
        daemon.reload()
        schedule()
        notifier.notify("READY=1")
    }

    private func stop() {
        // Runs on the cycle queue, so a cycle in progress has finished.
        notifier.notify("STOPPING=1")
        daemon.delivery.stop()  // unsent messages stay in the outbox for the next start
        daemon.source?.stop()
        logEvent("daemon.stopped")
        daemon.publishHead()
        if !activated { unlink(daemon.config.socketPath) }
        daemon.log.notice("dutyd stopping")
        exit(0)
    }

    private func logEvent(_ type: String) {
        do {
            try daemon.store.append(
                [
                    NewEvent(
                        type: type,
                        data: .object([("version", .string(DutyVersion.string)), ("pid", .int(Int64(getpid())))]))
                ], at: daemon.clock())
        } catch {
            daemon.log.error("cannot log \(type): \(error)")
        }
    }
}

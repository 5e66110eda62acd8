import DutyCore
import DutyPolicy
import DutyStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `dutyd`'s command line.
public enum DaemonCommand {
    public static let usage =
        "usage: dutyd [--config PATH] [--once] [--now TIME] [--check] [--demo] [--version] [--help]"

    public static let help = """
        dutyd: the duty daemon: rates, allocates and escalates adult social care referrals

        \(usage)

        options:
          --config PATH  config file (default: $DUTY_CONFIG, else /etc/duty/dutyd.conf)
          --once         run one cycle (intake, triage, allocation, oversight) and exit
          --now TIME     fix the clock at TIME (ISO 8601) for this run: tests and replays
          --check        validate the config, roster and policies; print every diagnostic; exit 0 or 65
          --demo         run on a demo in ./duty-demo/ with a generator of synthetic referrals
          --version      print the version
          -h, --help     show this help

        Signals: SIGHUP reloads (all valid or none applied), SIGTERM/SIGINT finish the cycle and exit 0,
        SIGUSR1 runs a cycle now. Under systemd (Type=notify) it reports READY, STATUS and WATCHDOG.
        """

    struct Options {
        var configPath: String?
        var once = false
        var now: String?
        var check = false
        var demo = false
    }

    /// Runs `dutyd` with `arguments` (without the program name); returns the exit code (or never returns, when
    /// it runs as a daemon until a signal stops it).
    public static func main(
        _ arguments: [String], environment: [String: String],
        out: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) },
        err: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    ) -> Int32 {
        var options = Options()
        var args = arguments[...]
        func usageError(_ message: String) -> Int32 {
            err("dutyd: \(message)")
            err(usage)
            return DutyError.Code.usage.exitCode
        }
        while let arg = args.popFirst() {
            var name = arg
            var inline: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            func value() -> String? { inline ?? args.popFirst() }
            switch name {
            case "-h", "--help":
                out(help)
                return 0
            case "--version":
                out("dutyd \(DutyVersion.string)")
                return 0
            case "--check": options.check = true
            case "--once": options.once = true
            case "--demo": options.demo = true
            case "--config":
                guard let v = value() else { return usageError("option '--config' needs a value (PATH)") }
                options.configPath = v
            case "--now":
                guard let v = value() else { return usageError("option '--now' needs a value (TIME)") }
                options.now = v
            default:
                var message = "unknown option '\(arg)'"
                let known = ["--config", "--once", "--now", "--check", "--demo", "--version", "--help"]
                if let guess = closestMatch(name, in: known) { message += "; did you mean '\(guess)'?" }
                return usageError(message)
            }
        }
        let log = Logger(environment: environment)
        if options.demo {
            if options.check || options.once && options.configPath != nil {
                return usageError("--demo makes its own config: it cannot be combined with --check or --config")
            }
            do throws(DutyError) {
                options.configPath = try Demo.prepare(
                    in: FileManager.default.currentDirectoryPath + "/duty-demo", out: out)
            } catch {
                err("dutyd: \(error.message)")
                return error.code.exitCode
            }
        }
        let path = DutyConfig.locate(explicit: options.configPath, environment: environment)
        if options.check { return check(path, out: out, err: err) }
        var fixed: Date?
        if let text = options.now {
            guard let date = ISOTime.parse(text, timeZone: TimeZone(identifier: "UTC")!) else {
                return usageError("invalid time '\(text)' for --now: use ISO 8601, like 2024-09-10T09:30:00Z")
            }
            fixed = date
        }
        let clock: @Sendable () -> Date
        if let fixed { clock = { fixed } } else { clock = { Date() } }
        let daemon: Daemon
        do throws(DutyError) {
            daemon = try Daemon(configPath: path, clock: clock, log: log)
        } catch {
            for d in error.diagnostics.sortedForDisplay() { err(d.description) }
            err("dutyd: \(error.message)" + (error.cause.map { " (\($0))" } ?? ""))
            return error.code.exitCode
        }
        if options.once {
            defer { daemon.waitForNotifications() }
            daemon.source?.passNow()
            return daemon.queue.sync {
                do {
                    let report = try daemon.cycle()
                    log.info(report.status)
                    return 0
                } catch let error as DutyError {
                    err("dutyd: \(error.message)")
                    return error.code.exitCode
                } catch {
                    err("dutyd: cycle failed: \(error)")
                    return 1
                }
            }
        }
        let runner = Runner(daemon: daemon, environment: environment, demo: options.demo)
        runner.start(environment: environment)
        dispatchMain()
    }

    /// "1 error", "3 errors".
    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    static func check(_ path: String, out: (String) -> Void, err: (String) -> Void) -> Int32 {
        do throws(DutyError) {
            let config = try DutyConfig.load(path: path)
            let deployment = Deployment.load(
                config: config, policiesDir: config.policiesDir, rosterPath: config.rosterPath)
            for d in deployment.diagnostics.sortedForDisplay() { err(d.description) }
            guard deployment.isValid else {
                err(
                    "dutyd: configuration is not valid: \(Self.count(deployment.diagnostics.filter { $0.severity == .error }.count, "error"))"
                )
                return DutyError.Code.invalidData.exitCode
            }
            // A roster that would orphan allocations in the current database: dutyd will return them to waiting.
            if let roster = deployment.roster, FileManager.default.fileExists(atPath: config.databasePath),
                let store = try? Store(path: config.databasePath, readOnly: true),
                let allocations = try? store.allocations()
            {
                let known = Set(roster.workers.map(\.id))
                let orphans = allocations.filter { $0.worker.map { !known.contains($0) } ?? false }
                if !orphans.isEmpty {
                    let workers = Set(orphans.compactMap(\.worker)).sorted().joined(separator: ", ")
                    err(
                        "\(config.rosterPath): warning: \(orphans.count) open allocation\(orphans.count == 1 ? " is" : "s are") to \(workers), not in this roster: dutyd returns them to waiting and tells their managers when it loads it"
                    )
                }
            }
            out("ok: config \(path), roster \(config.rosterPath), policies \(config.policiesDir)")
            return 0
        } catch {
            for d in error.diagnostics.sortedForDisplay() { err(d.description) }
            err("dutyd: \(error.message)")
            return error.code.exitCode
        }
    }
}

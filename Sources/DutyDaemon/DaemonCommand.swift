import DutyCore
import DutyPolicy
import Foundation

/// `dutyd`'s command line. In this version the daemon's cycle is not built yet: `dutyd` validates a deployment
/// (`--check`) and reports its version; `--once`, `--now` and `--demo` arrive with the daemon (see README).
public enum DaemonCommand {
    public static let usage = "usage: dutyd [--config PATH] [--check] [--version] [--help]"

    public static let help = """
        dutyd: the duty daemon: rates, allocates and escalates adult social care referrals

        \(usage)

        options:
          --config PATH  config file (default: $DUTY_CONFIG, else /etc/duty/dutyd.conf)
          --check        validate the config, roster and policies; print every diagnostic; exit 0 or 65
          --version      print the version
          -h, --help     show this help

        This build validates deployments only: the cycle (--once, --now, --demo) is not in it yet.
        """

    /// Runs `dutyd` with `arguments` (without the program name); returns the exit code.
    public static func main(
        _ arguments: [String], environment: [String: String],
        out: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) },
        err: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    ) -> Int32 {
        var configPath: String?
        var check = false
        var args = arguments[...]
        func usageError(_ message: String) -> Int32 {
            err("dutyd: \(message)")
            err(usage)
            return DutyError.Code.usage.exitCode
        }
        while let arg = args.popFirst() {
            switch arg {
            case "-h", "--help":
                out(help)
                return 0
            case "--version":
                out("dutyd \(DutyVersion.string)")
                return 0
            case "--check": check = true
            case "--config":
                guard let v = args.popFirst() else { return usageError("option '--config' needs a value (PATH)") }
                configPath = v
            case _ where arg.hasPrefix("--config="): configPath = String(arg.dropFirst("--config=".count))
            case "--once", "--now", "--demo":
                return usageError("\(arg) is not available in this build: the daemon's cycle is not built yet")
            default:
                var message = "unknown option '\(arg)'"
                let known = ["--config", "--check", "--version", "--help"]
                if let guess = closestMatch(arg, in: known) { message += "; did you mean '\(guess)'?" }
                return usageError(message)
            }
        }
        guard check else { return usageError("nothing to do: give --check (the daemon's cycle is not built yet)") }
        let path = DutyConfig.locate(explicit: configPath, environment: environment)
        do throws(DutyError) {
            let config = try DutyConfig.load(path: path)
            let deployment = Deployment.load(
                config: config, policiesDir: config.policiesDir, rosterPath: config.rosterPath)
            for d in deployment.diagnostics.sortedForDisplay() { err(d.description) }
            guard deployment.isValid else {
                err(
                    "dutyd: configuration is not valid: \(deployment.diagnostics.filter { $0.severity == .error }.count) errors"
                )
                return DutyError.Code.invalidData.exitCode
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
